// SPDX-License-Identifier: MIT

/// A line of a JSON Lines file (the event log, a sink's file, dead letters) that holds a NUL
/// byte is not a complete line: zeros stand where a write-back failed or a power cut left a
/// hole. Readers report it with its file and byte offset and go on. What follows the line's
/// last NUL may still be a whole line written after the hole (a record is never deleted for
/// being next to one); what comes before it is damaged.
public struct LineDamage: Sendable, Equatable, CustomStringConvertible {
    /// The file, and the byte offset of the damaged line in it.
    public var file: String
    public var offset: Int64
    /// Bytes from the line's start to its last NUL byte (inclusive).
    public var bytes: Int

    public init(file: String, offset: Int64, bytes: Int) {
        (self.file, self.offset, self.bytes) = (file, offset, bytes)
    }

    public var description: String {
        "\(file): byte \(offset): a line with NUL bytes (\(bytes) damaged bytes: a failed write-back or a power cut); skipped"
    }

    /// How many bytes of `line` (without its newline) are damaged, and the part after them:
    /// `(0, line)` when it holds no NUL byte.
    public static func split(_ line: ArraySlice<UInt8>) -> (damaged: Int, rest: ArraySlice<UInt8>) {
        guard let last = line.lastIndex(of: 0) else { return (0, line) }
        return (last + 1 - line.startIndex, line[(last + 1)...])
    }
}
