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

    /// The comma-separated elements of `values` (a list field's values), trimmed and
    /// lower-cased (RFC 9110 §5.6.1 list syntax).
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
    guard a.utf8.count == b.utf8.count else { return false }
    // Compared as two byte buffers (a generic walk over both UTF-8 views costs several times more).
    var a = a, b = b
    return a.withUTF8 { x in
        b.withUTF8 { y in
            for i in 0..<x.count where asciiLowercased(x[i]) != asciiLowercased(y[i]) { return false }
            return true
        }
    }
}

/// `c` with an ASCII capital letter made small; every other byte as it is.
@inline(__always)
func asciiLowercased(_ c: UInt8) -> UInt8 {
    (c >= 0x41 && c <= 0x5A) ? c | 0x20 : c
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
        if !self.utf8.contains(where: { asciiLowercased($0) != $0 }) { return String(self) }
        return String(decoding: self.utf8.map(asciiLowercased), as: UTF8.self)
    }
}
