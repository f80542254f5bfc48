// SPDX-License-Identifier: MIT

/// A sink's jq programs, as configured (compiled by the I/O target's `JQProgram`).
public struct SinkPrograms: Sendable, Equatable {
    /// Delivered only when the first output is `true`; anything else skips the event.
    public var `where`: String?
    /// What the sink sends: the first output; no output skips the event.
    public var transform: String?

    public init(where: String? = nil, transform: String? = nil) {
        self.where = `where`
        self.transform = transform
    }

    /// How the first output of `transform` becomes what the sink sends.
    public enum Output: Sendable, Equatable {
        /// Serialised as compact JSON (forward body, shell stdin, file line).
        case json
        /// Must be a string; its text is sent (an order message).
        case text
    }

    /// A program's source is at most this long (it is configuration, not data).
    public static let maxSourceBytes = 65536
}
