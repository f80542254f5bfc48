// SPDX-License-Identifier: MIT

/// Decodes `application/x-www-form-urlencoded` bodies with PHP bracket keys
/// (`data[client][id]=5`, `data[tags][]=a`) into a JSON object of strings, the fallback
/// encoding of SPP's older integrations.
///
/// This runs before the token is checked, so its work is linear in the body: fields are
/// counted (one pass) and refused above ``maxFields`` before any is decoded, each key is
/// found through a hash table, and the tree is built in place and converted once. Error
/// messages never echo the body (they reach the log).
public enum FormDecoder {
    public static let maxDepth = 32
    /// SPP's envelopes have a few dozen fields; PHP's own `max_input_vars` is 1000.
    public static let maxFields = 10_000

    public static func decode(_ body: [UInt8]) throws(EnvelopeError) -> JSONObject {
        var fields = 1
        for byte in body where byte == UInt8(ascii: "&") { fields += 1 }
        guard fields <= maxFields else { throw .invalidForm("more than \(maxFields) fields") }
        let root = Node.object()
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = try percentDecode(parts[0])
            let value = parts.count > 1 ? try percentDecode(parts[1]) : ""
            try root.insert(value, at: try keyPath(key)[...])
        }
        guard case .object(let object) = root.json else { throw .invalidForm("top level is not an object") }
        return object
    }

    /// `a[b][]` → ["a", "b", ""] (an empty segment appends to an array).
    static func keyPath(_ key: String) throws(EnvelopeError) -> [String] {
        guard let open = key.firstIndex(of: "[") else {
            guard !key.isEmpty else { throw .invalidForm("empty key") }
            return [key]
        }
        var path = [String(key[..<open])]
        guard !path[0].isEmpty else { throw .invalidForm("empty key") }
        var rest = key[open...]
        while !rest.isEmpty {
            guard rest.first == "[", let close = rest.firstIndex(of: "]") else {
                throw .invalidForm("unbalanced brackets in a key")
            }
            path.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            guard path.count <= maxDepth else { throw .invalidForm("key nested too deep") }
            rest = rest[rest.index(after: close)...]
        }
        return path
    }

    /// A tree under construction: mutable in place, so an insert costs its key's length.
    private final class Node {
        enum Kind {
            case value(String)
            case object(keys: [String], children: [String: Node])
            case array([Node])
        }
        var kind: Kind

        init(_ kind: Kind) { self.kind = kind }
        static func object() -> Node { Node(.object(keys: [], children: [:])) }
        /// What a fresh child becomes, given the segment that follows it.
        static func container(before next: String?) -> Node {
            guard let next else { return Node(.value("")) }
            return next.isEmpty ? Node(.array([])) : object()
        }

        func insert(_ value: String, at path: ArraySlice<String>) throws(EnvelopeError) {
            guard let segment = path.first else {
                kind = .value(value)
                return
            }
            let rest = path.dropFirst()
            switch kind {
            case .array(var elements) where segment.isEmpty:
                let child = Node.container(before: rest.first)
                try child.insert(value, at: rest)
                kind = .value("")  // drop the reference so the append does not copy
                elements.append(child)
                kind = .array(elements)
            case .object(var keys, var children) where !segment.isEmpty:
                if let existing = children[segment] {
                    // A repeated scalar key: the last value wins, as PHP does.
                    if rest.isEmpty { existing.kind = .value(value) } else { try existing.insert(value, at: rest) }
                    return
                }
                let child = Node.container(before: rest.first)
                try child.insert(value, at: rest)
                kind = .value("")
                keys.append(segment)
                children[segment] = child
                kind = .object(keys: keys, children: children)
            case .array:
                throw .invalidForm("a key is used both as a list and as an object")
            case .object:
                throw .invalidForm("a key is used both as an object and as a list")
            default:
                throw .invalidForm("a key is used both as an object and as a value")
            }
        }

        var json: JSONValue {
            switch kind {
            case .value(let s): .string(s)
            case .array(let elements): .array(elements.map(\.json))
            case .object(let keys, let children):
                // `children[k]` exists for every key: both are only ever extended together.
                .object(JSONObject(keys.map { JSONObject.Member(key: $0, value: children[$0]?.json ?? .null) }))
            }
        }
    }

    static func percentDecode(_ bytes: ArraySlice<UInt8>) throws(EnvelopeError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%") {
                guard i + 2 < bytes.endIndex, let h = HTTPSyntax.hexValue(bytes[i + 1]),
                    let l = HTTPSyntax.hexValue(bytes[i + 2])
                else { throw .invalidForm("bad percent escape") }
                out.append(UInt8(h << 4 | l))
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw .invalidForm("invalid UTF-8") }
        return s
    }
}
