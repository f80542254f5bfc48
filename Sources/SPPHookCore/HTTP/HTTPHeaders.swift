// SPDX-License-Identifier: MIT

/// Header fields in arrival order; names compare case-insensitively and repeated fields
/// are all kept (never "last one wins").
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public private(set) var fields: [Field] = []

    public init(_ fields: [(String, String)] = []) {
        self.fields = fields.map { Field(name: $0.0, value: $0.1) }
    }

    public mutating func add(name: String, value: String) {
        fields.append(Field(name: name, value: value))
    }

    /// All values of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.filter { asciiCaseInsensitiveEquals($0.name, name) }.map(\.value)
    }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        fields.first(where: { asciiCaseInsensitiveEquals($0.name, name) })?.value
    }

    /// The comma-separated elements of every `name` field, trimmed and lower-cased
    /// (RFC 9110 §5.6.1 list syntax).
    public func tokens(_ name: String) -> [String] {
        Self.tokens(of: values(name))
    }

    /// The comma-separated elements of `values`, trimmed and lower-cased.
    public static func tokens(of values: [String]) -> [String] {
        values.flatMap { value in
            value.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingOWS().lowercasedASCII()
            }
        }
    }

    public var count: Int { fields.count }

    public func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }
}

/// ASCII-only case-insensitive comparison (header names are ASCII tokens).
public func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    let x = a.utf8, y = b.utf8
    guard x.count == y.count else { return false }
    // Native strings (every header name the parser makes) compare as two byte buffers.
    let compared = x.withContiguousStorageIfAvailable { p in
        y.withContiguousStorageIfAvailable { q in
            for i in 0..<p.count where !asciiCaseInsensitiveEqual(p[i], q[i]) { return false }
            return true
        }
    }
    if let compared = compared ?? nil { return compared }
    for (p, q) in zip(x, y) where !asciiCaseInsensitiveEqual(p, q) { return false }
    return true
}

@inline(__always)
private func asciiCaseInsensitiveEqual(_ p: UInt8, _ q: UInt8) -> Bool {
    if p == q { return true }
    let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
    let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
    return lp == lq
}

extension StringProtocol {
    /// Trims optional whitespace (SP and HTAB) from both ends.
    public func trimmingOWS() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }

    public func lowercasedASCII() -> String {
        // Most text (event names, header tokens) has no capital letter: nothing to map.
        if !self.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return String(self) }
        return String(decoding: self.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }
}
