// SPDX-License-Identifier: MIT

/// Why a byte sequence is not the JSON we accept. `offset` is the byte where it went wrong.
public struct JSONParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        case unexpectedEnd = "unexpected end of input"
        case unexpectedCharacter = "unexpected character"
        case invalidNumber = "invalid number"
        case invalidEscape = "invalid escape sequence"
        case controlCharacterInString = "control character in string"
        case invalidUTF8 = "invalid UTF-8"
        case duplicateKey = "duplicate object key"
        case tooDeep = "nesting too deep"
        case trailingData = "data after the JSON value"
    }

    public var reason: Reason
    public var offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason.rawValue) at byte \(offset)" }
}
