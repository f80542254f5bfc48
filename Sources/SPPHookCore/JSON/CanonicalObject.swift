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
            var keys: [JSONCursor.Key] = []
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
}

extension JSONCursor {
    /// An object key for the duplicate check: ASCII keys without escapes stay bytes of the
    /// input; others are decoded (compared as Strings, as the parser does: canonically
    /// equivalent keys are duplicates, and KELVIN SIGN is one of "K").
    enum Key {
        case ascii(PlainString)
        case string(String)
    }

    func string(_ key: Key) -> String {
        switch key {
        case .ascii(let plain): String(decoding: UnsafeBufferPointer(rebasing: buffer[plain.range]), as: UTF8.self)
        case .string(let s): s
        }
    }

    func same(_ a: Key, _ b: Key) -> Bool {
        if case .ascii(let x) = a, case .ascii(let y) = b {
            return buffer[x.range].elementsEqual(buffer[y.range])
        }
        return string(a) == string(b)
    }

    /// Mirrors ``parseValue(depth:)``, writing canonical JSON instead of building a value.
    mutating func writeValue(depth: Int, into out: inout [UInt8], keys: inout [Key]) throws(JSONParseError) {
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
        depth: Int, into out: inout [UInt8], keys: inout [Key], topLevel: inout [CanonicalObject.Member]?
    ) throws(JSONParseError) {
        if try open(depth: depth, closedBy: UInt8(ascii: "}"), into: &out) { return }
        let first = keys.count
        defer { keys.removeSubrange(first...) }
        var seen: Set<String>?  // only for large objects, as the parser does
        while true {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            let keyOffset = index
            let key: Key
            if let plain = try scanString(), plain.isASCII {
                key = .ascii(plain)
            } else {
                index = keyOffset
                key = .string(try parseString())
            }
            if keys.count - first < 16 {
                if keys[first...].contains(where: { same($0, key) }) { throw JSONParseError(.duplicateKey, at: keyOffset) }
            } else {
                if seen == nil { seen = Set(keys[first...].map(string)) }
                // `seen` is set on the line above.
                guard seen!.insert(string(key)).inserted else { throw JSONParseError(.duplicateKey, at: keyOffset) }
            }
            keys.append(key)
            skipWhitespace()
            guard try peek() == UInt8(ascii: ":") else { throw JSONParseError(.unexpectedCharacter, at: index) }
            index += 1
            skipWhitespace()
            let start = out.count
            switch key {
            case .ascii(let plain): copy(plain, into: &out)
            case .string(let s): JSONWriter.writeString(s, into: &out)
            }
            out.append(UInt8(ascii: ":"))
            let valueStart = out.count
            try writeValue(depth: depth, into: &out, keys: &keys)
            if topLevel != nil {
                topLevel?.append(CanonicalObject.Member(key: string(key), start: start, value: valueStart..<out.count))
            }
            if try next(closedBy: UInt8(ascii: "}"), into: &out) { return }
        }
    }

    /// Mirrors ``parseArray(depth:)``.
    mutating func writeArray(depth: Int, into out: inout [UInt8], keys: inout [Key]) throws(JSONParseError) {
        if try open(depth: depth, closedBy: UInt8(ascii: "]"), into: &out) { return }
        while true {
            skipWhitespace()
            try writeValue(depth: depth, into: &out, keys: &keys)
            if try next(closedBy: UInt8(ascii: "]"), into: &out) { return }
        }
    }

    /// Enters an object or array (checking depth) and copies its opening bracket; true
    /// when it is empty (closed at once, closing bracket copied).
    private mutating func open(depth: Int, closedBy close: UInt8, into out: inout [UInt8]) throws(JSONParseError) -> Bool {
        guard depth <= maxDepth else { throw JSONParseError(.tooDeep, at: index) }
        out.append(buffer[index])
        index += 1
        skipWhitespace()
        guard try peek() == close else { return false }
        index += 1
        out.append(close)
        return true
    }

    /// After a member or element: copies the comma (false) or the closing bracket (true).
    private mutating func next(closedBy close: UInt8, into out: inout [UInt8]) throws(JSONParseError) -> Bool {
        skipWhitespace()
        let c = try peek()
        guard c == UInt8(ascii: ",") || c == close else { throw JSONParseError(.unexpectedCharacter, at: index) }
        index += 1
        out.append(c)
        return c == close
    }

    /// Mirrors ``parseString()`` followed by ``JSONWriter/writeString(_:into:)``. A string
    /// without escapes is copied as it is (but for DEL); one with escapes goes the long way.
    mutating func writeString(into out: inout [UInt8]) throws(JSONParseError) {
        let start = index + 1
        if let plain = try scanString() {
            copy(plain, into: &out)
        } else {
            JSONWriter.writeString(try finishString(start: start), into: &out)
        }
    }

    func copy(_ plain: PlainString, into out: inout [UInt8]) {
        let text = UnsafeBufferPointer(rebasing: buffer[plain.range])
        out.append(UInt8(ascii: "\""))
        if plain.hasDelete {
            for b in text {
                if b == 0x7F { out.append(contentsOf: "\\u007f".utf8) } else { out.append(b) }
            }
        } else {
            out.append(contentsOf: text)
        }
        out.append(UInt8(ascii: "\""))
    }
}
