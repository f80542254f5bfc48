// SPDX-License-Identifier: MIT

/// A JSON object as the receive path needs it: its canonical bytes (exactly what
/// ``JSONWriter`` writes for the value ``JSONParser`` reads) and where each top-level
/// member sits in them. Parsing writes the canonical form directly, in one pass, without
/// building a ``JSONValue`` tree; it accepts and rejects exactly what ``JSONParser`` does,
/// with the same error at the same offset (a fuzz property checks both).
public struct CanonicalObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        /// Where the member (its key) starts in ``bytes``.
        public var start: Int
        /// Where its value is in ``bytes``.
        public var value: Range<Int>
    }

    public private(set) var bytes: [UInt8]
    public private(set) var members: [Member]

    /// Parses `input`, which must hold one JSON object (surrounding whitespace allowed).
    /// - Throws: what ``JSONParser/parse(_:maxDepth:)`` would throw; `.unexpectedCharacter`
    ///   when the value is not an object (callers that care parse those with ``JSONParser``).
    public init(parsing input: ArraySlice<UInt8>, maxDepth: Int = JSONParser.defaultMaxDepth) throws(JSONParseError) {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var members: [Member]? = []
        let failure: JSONParseError? = input.withUnsafeBufferPointer { buffer in
            var cursor = JSONCursor(buffer: buffer, maxDepth: maxDepth)
            var keys: [String] = []
            do throws(JSONParseError) {
                cursor.skipWhitespace()
                guard try cursor.peek() == UInt8(ascii: "{") else { throw JSONParseError(.unexpectedCharacter, at: cursor.index) }
                try cursor.writeObject(depth: 1, into: &out, keys: &keys, topLevel: &members)
                cursor.skipWhitespace()
                if cursor.index != buffer.count { throw JSONParseError(.trailingData, at: cursor.index) }
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
        self.bytes = out
        self.members = members ?? []
    }

    /// The canonical form of an object already parsed (a form-encoded body).
    public init(_ object: JSONObject) {
        var out: [UInt8] = [UInt8(ascii: "{")]
        var members: [Member] = []
        for (i, m) in object.members.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            let start = out.count
            JSONWriter.writeString(m.key, into: &out)
            out.append(UInt8(ascii: ":"))
            let valueStart = out.count
            JSONWriter.write(m.value, into: &out)
            members.append(Member(key: m.key, start: start, value: valueStart..<out.count))
        }
        out.append(UInt8(ascii: "}"))
        self.bytes = out
        self.members = members
    }

    /// The value of the top-level member `key` (parsed from its canonical bytes).
    public subscript(key: String) -> JSONValue? {
        guard let m = members.first(where: { $0.key == key }) else { return nil }
        return try? JSONParser.parse(bytes[m.value])
    }

    /// The canonical bytes without the top-level member `key`.
    public func removing(_ key: String) -> [UInt8] {
        guard let i = members.firstIndex(where: { $0.key == key }) else { return bytes }
        var out = bytes
        if members.count == 1 {
            out.removeSubrange(members[0].start..<members[0].value.upperBound)
        } else if i == 0 {
            out.removeSubrange(members[0].start..<members[1].start)  // the member and its comma
        } else {
            out.removeSubrange((members[i].start - 1)..<members[i].value.upperBound)  // the comma before it too
        }
        return out
    }

    /// The object as a ``JSONValue`` tree (tests and tools).
    public var object: JSONObject {
        guard case .object(let o)? = try? JSONParser.parse(bytes) else { return JSONObject() }
        return o
    }
}

extension JSONCursor {
    /// Mirrors ``parseValue(depth:)``, writing canonical JSON instead of building a value.
    mutating func writeValue(depth: Int, into out: inout [UInt8], keys: inout [String]) throws(JSONParseError) {
        var none: [CanonicalObject.Member]? = nil
        switch try peek() {
        case UInt8(ascii: "{"): try writeObject(depth: depth + 1, into: &out, keys: &keys, topLevel: &none)
        case UInt8(ascii: "["): try writeArray(depth: depth + 1, into: &out, keys: &keys)
        case UInt8(ascii: "\""): try writeString(into: &out)
        case UInt8(ascii: "t"): try copyLiteral("true", into: &out)
        case UInt8(ascii: "f"): try copyLiteral("false", into: &out)
        case UInt8(ascii: "n"): try copyLiteral("null", into: &out)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try scanNumber()
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[range]))
        default: throw JSONParseError(.unexpectedCharacter, at: index)
        }
    }

    private mutating func copyLiteral(_ literal: StaticString, into out: inout [UInt8]) throws(JSONParseError) {
        _ = try expect(literal: literal, value: .null)
        out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Mirrors ``parseObject(depth:)``. `keys` is a stack shared by the nested objects (for
    /// the duplicate-key check); `topLevel`, when given, receives this object's members.
    mutating func writeObject(
        depth: Int, into out: inout [UInt8], keys: inout [String], topLevel: inout [CanonicalObject.Member]?
    ) throws(JSONParseError) {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep, at: index) }
        index += 1  // {
        out.append(UInt8(ascii: "{"))
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") {
            index += 1
            out.append(UInt8(ascii: "}"))
            return
        }
        let first = keys.count
        defer { keys.removeSubrange(first...) }
        var seen: Set<String>?  // only for large objects, as the parser does
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            let keyOffset = index
            let key = try parseString()
            if keys.count - first < 16 {
                if keys[first...].contains(key) { throw JSONParseError(.duplicateKey, at: keyOffset) }
            } else {
                if seen == nil { seen = Set(keys[first...]) }
                guard seen!.insert(key).inserted else { throw JSONParseError(.duplicateKey, at: keyOffset) }
            }
            keys.append(key)
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            index += 1
            skipWhitespace()
            let start = out.count
            JSONWriter.writeString(key, into: &out)
            out.append(UInt8(ascii: ":"))
            let valueStart = out.count
            try writeValue(depth: depth, into: &out, keys: &keys)
            topLevel?.append(CanonicalObject.Member(key: key, start: start, value: valueStart..<out.count))
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","):
                index += 1
                out.append(UInt8(ascii: ","))
            case UInt8(ascii: "}"):
                index += 1
                out.append(UInt8(ascii: "}"))
                return
            default: throw JSONParseError(.unexpectedCharacter, at: index)
            }
        }
    }

    /// Mirrors ``parseArray(depth:)``.
    mutating func writeArray(depth: Int, into out: inout [UInt8], keys: inout [String]) throws(JSONParseError) {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep, at: index) }
        index += 1  // [
        out.append(UInt8(ascii: "["))
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") {
            index += 1
            out.append(UInt8(ascii: "]"))
            return
        }
        while true {
            skipWhitespace()
            try writeValue(depth: depth, into: &out, keys: &keys)
            skipWhitespace()
            switch try peek() {
            case UInt8(ascii: ","):
                index += 1
                out.append(UInt8(ascii: ","))
            case UInt8(ascii: "]"):
                index += 1
                out.append(UInt8(ascii: "]"))
                return
            default: throw JSONParseError(.unexpectedCharacter, at: index)
            }
        }
    }

    /// Mirrors ``parseString()`` followed by ``JSONWriter/writeString(_:into:)``. A string
    /// without escapes is validated and copied as it is; one with escapes goes the long way.
    mutating func writeString(into out: inout [UInt8]) throws(JSONParseError) {
        let quote = index
        index += 1
        let start = index
        while index < buffer.count {
            let c = buffer[index]
            if c == UInt8(ascii: "\"") {
                let text = UnsafeBufferPointer(rebasing: buffer[start..<index])
                guard UTF8Validation.isValid(text) else { throw JSONParseError(.invalidUTF8, at: start) }
                index += 1
                out.append(UInt8(ascii: "\""))
                if text.contains(0x7F) {
                    for b in text {
                        if b == 0x7F { out.append(contentsOf: "\\u007f".utf8) } else { out.append(b) }
                    }
                } else {
                    out.append(contentsOf: text)
                }
                out.append(UInt8(ascii: "\""))
                return
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw JSONParseError(.controlCharacterInString, at: index) }
            index += 1
        }
        index = quote
        JSONWriter.writeString(try parseString(), into: &out)
    }
}
