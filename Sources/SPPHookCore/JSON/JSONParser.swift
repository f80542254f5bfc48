// SPDX-License-Identifier: MIT

/// A strict RFC 8259 parser producing ``JSONValue``.
///
/// Strict where leniency is dangerous: duplicate keys, invalid UTF-8, unescaped control
/// characters and trailing data are errors. Nesting is bounded by `maxDepth` so a hostile
/// body cannot exhaust the stack.
public struct JSONParser {
    public static let defaultMaxDepth = 128
    /// For what the daemon stored itself: a log line wraps an accepted body (at most
    /// ``defaultMaxDepth`` deep) in one more object, a dead letter wraps the line again.
    /// Every reader of stored data parses with this, so whatever was accepted reads back.
    public static let storedMaxDepth = defaultMaxDepth + 4

    /// Parses one JSON value filling all of `bytes` (surrounding whitespace allowed).
    public static func parse(_ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONCursor(buffer: buffer, maxDepth: maxDepth)
            do throws(JSONParseError) {
                parser.skipWhitespace()
                let value = try parser.parseValue(depth: 0)
                parser.skipWhitespace()
                if parser.index != buffer.count {
                    throw JSONParseError(.trailingData, at: parser.index)
                }
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(bytes[...], maxDepth: maxDepth)
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8)[...], maxDepth: maxDepth)
    }
}

/// The parser's position in its input; ``CanonicalObject`` writes canonical JSON with it.
struct JSONCursor {
    let buffer: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var index = 0

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    func peek() throws(JSONParseError) -> UInt8 {
        guard index < buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        return buffer[index]
    }

    mutating func expect(literal: StaticString, value: JSONValue) throws(JSONParseError) -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        let start = literal.utf8Start
        for i in 0..<count where buffer[index + i] != start[i] {
            throw JSONParseError(.unexpectedCharacter, at: index + i)
        }
        index += count
        return value
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect(literal: "true", value: .bool(true))
        case UInt8(ascii: "f"): return try expect(literal: "false", value: .bool(false))
        case UInt8(ascii: "n"): return try expect(literal: "null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw JSONParseError(.unexpectedCharacter, at: index)
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep, at: index) }
        index += 1  // {
        var members: [JSONObject.Member] = []
        var seen: Set<String>?  // only for large objects; small ones are scanned
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject(members))
        }
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            let keyOffset = index
            let key = try parseString()
            if members.count < 16 {
                if members.contains(where: { $0.key == key }) { throw JSONParseError(.duplicateKey, at: keyOffset) }
            } else {
                if seen == nil { seen = Set(members.map(\.key)) }
                // `seen` is set on the line above.
                guard seen!.insert(key).inserted else { throw JSONParseError(.duplicateKey, at: keyOffset) }
            }
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append(JSONObject.Member(key: key, value: value))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return .object(JSONObject(members))
            default: throw JSONParseError(.unexpectedCharacter, at: index)
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep, at: index) }
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return .array(elements)
            default: throw JSONParseError(.unexpectedCharacter, at: index)
            }
        }
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let range = try scanNumber()
        return .number(String(decoding: UnsafeBufferPointer(rebasing: buffer[range]), as: UTF8.self))
    }

    /// Validates the number at the cursor and moves past it; returns where its text is.
    mutating func scanNumber() throws(JSONParseError) -> Range<Int> {
        let start = index
        func digits(_ c: inout JSONCursor) -> Int {
            let s = c.index
            while c.index < c.buffer.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c.buffer[c.index]) {
                c.index += 1
            }
            return c.index - s
        }
        if buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard index < buffer.count else { throw JSONParseError(.invalidNumber, at: start) }
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw JSONParseError(.invalidNumber, at: start)
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw JSONParseError(.invalidNumber, at: start) }
        }
        if index < buffer.count, buffer[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard digits(&self) > 0 else { throw JSONParseError(.invalidNumber, at: start) }
        }
        return start..<index
    }

    /// A string without escapes, as ``scanString()`` found it.
    struct PlainString {
        /// The text between the quotes (valid UTF-8).
        var range: Range<Int>
        var isASCII: Bool
        /// Holds U+007F, which the writer escapes.
        var hasDelete: Bool
    }

    /// Scans the string at the cursor (on its opening quote). Without escapes: validates
    /// it, moves past the closing quote and returns where its text is. Otherwise returns
    /// nil with the cursor on the first escape (or at the end of input), everything before
    /// it checked: ``finishString(start:)`` goes on from there.
    mutating func scanString() throws(JSONParseError) -> PlainString? {
        index += 1  // opening quote
        let start = index
        var high: UInt64 = 0
        var hasDelete = false
        let base = buffer.baseAddress!  // on an opening quote: the input is not empty
        while true {
            // Eight bytes at a time while none is a quote, a backslash, a control or DEL.
            while index + 8 <= buffer.count {
                let w = UInt64(littleEndian: UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self))
                let q = w ^ 0x2222_2222_2222_2222, b = w ^ 0x5C5C_5C5C_5C5C_5C5C, d = w ^ 0x7F7F_7F7F_7F7F_7F7F
                let ones: UInt64 = 0x0101_0101_0101_0101
                let special = (((q &- ones) & ~q) | ((b &- ones) & ~b) | ((d &- ones) & ~d) | ((w &- 0x2020_2020_2020_2020) & ~w))
                    & 0x8080_8080_8080_8080
                if special != 0 {
                    // The lowest flagged byte is a real one (a borrow only moves upwards):
                    // step over the plain bytes before it, and look at it below.
                    let plain = special.trailingZeroBitCount / 8
                    high |= w & ((1 << (plain * 8)) &- 1)
                    index += plain
                    break
                }
                high |= w
                index += 8
            }
            guard index < buffer.count else { return nil }
            let c = base[index]
            if c == UInt8(ascii: "\"") {
                let isASCII = high & 0x8080_8080_8080_8080 == 0
                if !isASCII, !UTF8Validation.isValid(UnsafeBufferPointer(rebasing: buffer[start..<index])) {
                    throw JSONParseError(.invalidUTF8, at: start)
                }
                index += 1
                return PlainString(range: start..<(index - 1), isASCII: isASCII, hasDelete: hasDelete)
            }
            if c == UInt8(ascii: "\\") { return nil }
            if c < 0x20 { throw JSONParseError(.controlCharacterInString, at: index) }
            if c == 0x7F { hasDelete = true }
            high |= UInt64(c)
            index += 1
        }
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let start = index + 1
        if let plain = try scanString() {
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[plain.range]), as: UTF8.self)
        }
        return try finishString(start: start)
    }

    /// The rest of a string with escapes (see ``scanString()``); `start` is where its text began.
    mutating func finishString(start: Int) throws(JSONParseError) -> String {
        var bytes = Array(buffer[start..<index])
        while true {
            guard index < buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let c = buffer[index]
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                guard bytes.withUnsafeBufferPointer(UTF8Validation.isValid) else {
                    throw JSONParseError(.invalidUTF8, at: start)
                }
                return String(decoding: bytes, as: UTF8.self)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &bytes)
            case 0..<0x20:
                throw JSONParseError(.controlCharacterInString, at: index)
            default:
                bytes.append(c)
                index += 1
            }
        }
    }

    mutating func parseEscape(into bytes: inout [UInt8]) throws(JSONParseError) {
        let at = index
        index += 1
        guard index < buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        let e = buffer[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""): bytes.append(0x22)
        case UInt8(ascii: "\\"): bytes.append(0x5C)
        case UInt8(ascii: "/"): bytes.append(0x2F)
        case UInt8(ascii: "b"): bytes.append(0x08)
        case UInt8(ascii: "f"): bytes.append(0x0C)
        case UInt8(ascii: "n"): bytes.append(0x0A)
        case UInt8(ascii: "r"): bytes.append(0x0D)
        case UInt8(ascii: "t"): bytes.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4(at: at)
            if (0xD800...0xDBFF).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard index + 1 < buffer.count, buffer[index] == UInt8(ascii: "\\"),
                    buffer[index + 1] == UInt8(ascii: "u")
                else { throw JSONParseError(.invalidEscape, at: at) }
                index += 2
                let low = try hex4(at: at)
                guard (0xDC00...0xDFFF).contains(low) else { throw JSONParseError(.invalidEscape, at: at) }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw JSONParseError(.invalidEscape, at: at)
            }
            guard let u = Unicode.Scalar(scalar) else { throw JSONParseError(.invalidEscape, at: at) }
            bytes.append(contentsOf: Array(String(Character(u)).utf8))
        default:
            throw JSONParseError(.invalidEscape, at: at)
        }
    }

    mutating func hex4(at: Int) throws(JSONParseError) -> UInt32 {
        guard index + 4 <= buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buffer[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw JSONParseError(.invalidEscape, at: at)
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }
}
