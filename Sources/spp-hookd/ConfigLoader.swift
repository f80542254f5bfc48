// SPDX-License-Identifier: MIT
import SPPHookCore
import SPPHookServer

/// Finds and decodes the configuration: `--config FILE`, else `config.example.json` in the
/// working directory, else the copy embedded in the binary.
enum ConfigLoader {
    struct Loaded {
        var config: DaemonConfig
        var source: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func load(_ path: String?) throws(Failure) -> Loaded {
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
            return Loaded(config: try ConfigDecoder.decode(bytes), source: source)
        } catch {
            throw Failure(description: "\(source): \(error)")
        }
    }
}
