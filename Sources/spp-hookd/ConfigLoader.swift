// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

/// Finds and decodes the configuration: `--config FILE`, else `config.example.json` in the
/// working directory, else (for the operator tools) the installed service's
/// `/etc/spp-hookd/config.json`, else the copy embedded in the binary.
enum ConfigLoader {
    /// Where `make install` and the Debian package put the service's configuration.
    static let installedPath = "/etc/spp-hookd/config.json"

    struct Loaded {
        var config: DaemonConfig
        var source: String
        /// True when no `--config` named it (the tools then say which one they used).
        var searched = false
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// `findInstalled`: look for the installed service's config before the embedded default
    /// (the operator tools do; `serve` without `--config` is the quick start's loopback daemon).
    static func load(_ path: String?, findInstalled: Bool = false) throws(Failure) -> Loaded {
        if path == nil, findInstalled, !fileExists("config.example.json"), fileExists(installedPath) {
            var loaded = try load(installedPath)
            loaded.searched = true
            return loaded
        }
        let bytes: [UInt8]
        let source: String
        if let path {
            do {
                bytes = try readWholeFile(path)
            } catch {
                throw Failure(description: "\(path): cannot read: \(error)")
            }
            source = path
        } else if fileExists("config.example.json") {
            do {
                bytes = try readWholeFile("config.example.json")
            } catch {
                throw Failure(description: "config.example.json: cannot read: \(error)")
            }
            source = "config.example.json"
        } else {
            bytes = PackageResources.default_config_json
            source = "the embedded default (config.example.json)"
        }
        do {
            return Loaded(config: try ConfigDecoder.decode(bytes), source: source, searched: path == nil)
        } catch {
            throw Failure(description: "\(source): \(error)")
        }
    }
}

extension ConfigLoader.Loaded {
    /// A warning when a file every local user may read holds secrets inline: the installed
    /// config is 0644 (the service's dynamic user must read it), so secrets belong in
    /// `credential:`, `file:` or `env:` references.
    var exposureWarning: String? {
        let keys = config.inlineSecretKeys
        var st = stat()
        guard !keys.isEmpty, stat(source, &st) == 0, st.st_mode & 0o004 != 0 else { return nil }
        return "\(source) is readable by every local user and holds secrets inline (\(keys.joined(separator: ", "))); "
            + "move them to credential:, file: or env: references, or chmod o-r the file"
    }
}
