// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// Resolves ``SecretReference`` values at start-up: environment, files, systemd credentials.
public struct SecretResolver: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The reference points at nothing (an unset variable, a missing credential).
        case absent(String)
        /// The reference points at something unusable (unreadable or empty file).
        case unusable(String)

        public var description: String {
            switch self {
            case .absent(let s), .unusable(let s): s
            }
        }
    }

    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// The process environment.
    public static func processEnvironment() -> [String: String] {
        var env: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") {
                env[String(s[..<eq])] = String(s[s.index(after: eq)...])
            }
            p += 1
        }
        return env
    }

    public func resolve(_ ref: SecretReference) -> Result<String, Failure> {
        switch ref {
        case .literal(let s):
            return .success(s)
        case .environment(let name):
            guard let v = environment[name], !v.isEmpty else { return .failure(.absent("environment variable \(name) is not set")) }
            return .success(v)
        case .file(let path):
            return Self.firstLine(of: path)
        case .credential(let name):
            return credentialPath(name).flatMap { path in
                Self.firstLine(of: path).mapError { .unusable("credential \(name): \($0)") }
            }
        }
    }

    /// Where systemd put credential `name` (`LoadCredential=`, `SetCredential=`).
    public func credentialPath(_ name: String) -> Result<String, Failure> {
        guard let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty else {
            return .failure(.absent("credential \(name): CREDENTIALS_DIRECTORY is not set (no LoadCredential=)"))
        }
        return .success(dir + "/" + name)
    }

    /// A file setting's path: `credential:NAME` is a file in systemd's credentials directory,
    /// anything else a path.
    public func filePath(_ value: String) -> Result<String, Failure> {
        value.hasPrefix("credential:") ? credentialPath(String(value.dropFirst("credential:".count))) : .success(value)
    }

    static func firstLine(of path: String) -> Result<String, Failure> {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path, limit: 65536)
        } catch {
            return .failure(.unusable("cannot read \(path): \(String(cString: strerror(error.errno)))"))
        }
        let line = bytes.split(separator: 0x0A, maxSplits: 1, omittingEmptySubsequences: false).first ?? []
        var value = String(decoding: line, as: UTF8.self)
        while value.last == "\r" || value.last == " " || value.last == "\t" { value.removeLast() }
        guard !value.isEmpty else { return .failure(.unusable("\(path) is empty")) }
        return .success(value)
    }
}
