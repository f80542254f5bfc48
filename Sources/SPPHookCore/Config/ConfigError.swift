// SPDX-License-Identifier: MIT

/// A configuration problem, naming the key path (`endpoints[0].tokens`) it concerns.
public struct ConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
