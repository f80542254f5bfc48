// SPDX-License-Identifier: MIT

/// Decodes `application/x-www-form-urlencoded` bodies with PHP bracket keys
/// (`data[client][id]=5`, `data[tags][]=a`) into a JSON object of strings, the fallback
/// encoding of SPP's older integrations.
public enum FormDecoder {
    public static let maxDepth = 32

    public static func decode(_ body: [UInt8]) throws(EnvelopeError) -> JSONObject {
        var root = JSONValue.object(JSONObject())
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let key = try percentDecode(parts[0])
            let value = parts.count > 1 ? try percentDecode(parts[1]) : ""
            let path = try keyPath(key)
            try insert(.string(value), at: path[...], into: &root)
        }
        guard case .object(let object) = root else { throw .invalidForm("top level is not an object") }
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
                throw .invalidForm("unbalanced brackets in key '\(key)'")
            }
            path.append(String(rest[rest.index(after: rest.startIndex)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        guard path.count <= maxDepth else { throw .invalidForm("key nested too deep") }
        return path
    }

    static func insert(_ value: JSONValue, at path: ArraySlice<String>, into node: inout JSONValue) throws(EnvelopeError) {
        guard let segment = path.first else {
            node = value
            return
        }
        let rest = path.dropFirst()
        if segment.isEmpty {
            guard case .array(var elements) = node else { throw .invalidForm("key used both as list and as value") }
            var child: JSONValue = rest.first.map { $0.isEmpty ? .array([]) : .object(JSONObject()) } ?? .null
            try insert(value, at: rest, into: &child)
            elements.append(child)
            node = .array(elements)
            return
        }
        guard case .object(var object) = node else { throw .invalidForm("key '\(segment)' used both as object and as value") }
        var child = object[segment] ?? (rest.first.map { $0.isEmpty ? .array([]) : .object(JSONObject()) } ?? .null)
        if rest.isEmpty, object[segment] != nil {
            // Repeated scalar key: the last value wins, as PHP does.
            child = .null
        }
        try insert(value, at: rest, into: &child)
        object.set(segment, child)
        node = .object(object)
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
