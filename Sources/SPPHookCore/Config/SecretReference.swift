// SPDX-License-Identifier: MIT

/// Where a secret comes from. Written in config as a literal, `env:NAME`, `file:/path`
/// (first line) or `credential:NAME` (`$CREDENTIALS_DIRECTORY/NAME`, systemd's
/// `LoadCredential=`). Resolution is I/O and happens at the edge, not here.
public enum SecretReference: Sendable, Equatable, CustomStringConvertible {
    case literal(String)
    case environment(String)
    case file(String)
    case credential(String)

    public init(parsing text: String) {
        if text.hasPrefix("env:") {
            self = .environment(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else if text.hasPrefix("credential:") {
            self = .credential(String(text.dropFirst(11)))
        } else {
            self = .literal(text)
        }
    }

    /// Safe to log: never includes a literal secret.
    public var description: String {
        switch self {
        case .literal: "an inline value"
        case .environment(let n): "env:\(n)"
        case .file(let p): "file:\(p)"
        case .credential(let n): "credential:\(n)"
        }
    }
}
