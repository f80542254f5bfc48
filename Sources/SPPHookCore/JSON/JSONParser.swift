// SPDX-License-Identifier: MIT

/// A strict RFC 8259 parser producing ``JSONValue``.
///
/// Strict where leniency is dangerous: duplicate keys, invalid UTF-8, unescaped control
/// characters and trailing data are errors. Nesting is bounded by `maxDepth` so a hostile
/// body cannot exhaust the stack.
public struct JSONParser {
    public static let defaultMaxDepth = 128

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

    mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        // Fast path: no escapes.
        while index < buffer.count {
            let c = buffer[index]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buffer[start..<index])
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw JSONParseError(.invalidUTF8, at: start)
                }
                index += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw JSONParseError(.controlCharacterInString, at: index) }
            index += 1
        }
        var bytes = Array(buffer[start..<index])
        while true {
            guard index < buffer.count else { throw JSONParseError(.unexpectedEnd, at: index) }
            let c = buffer[index]
            switch c {
            case UInt8(ascii: "\""):
                index += 1
                guard let s = String(validating: bytes, as: UTF8.self) else {
                    throw JSONParseError(.invalidUTF8, at: start)
                }
                return s
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
