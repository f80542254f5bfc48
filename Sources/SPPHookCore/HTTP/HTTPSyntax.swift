// SPDX-License-Identifier: MIT

/// Character classes of RFC 9110 §5.6 and the chunk-extension grammar of RFC 9112 §7.1.1.
public enum HTTPSyntax {
    /// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    static func isTokenChar(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// field-vchar / SP / HTAB, with obs-text (0x80–0xFF) allowed as RFC 9110 §5.5 permits.
    static func isFieldValueChar(_ c: UInt8) -> Bool {
        c == 0x09 || (c >= 0x20 && c != 0x7F)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    /// HEXDIG's value, or nil.
    public static func hexValue(_ c: UInt8) -> Int? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Registered transfer codings (RFC 9112 §7); anything else is answered 501.
    static let knownTransferCodings: Set<String> = ["chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"]

    /// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), accepted without BWS
    /// (as llhttp and nginx do); ext-val = token / quoted-string.
    static func validateChunkExtensions(_ ext: ArraySlice<UInt8>) throws(HTTPParseError) {
        var i = ext.startIndex
        while i < ext.endIndex {
            guard ext[i] == UInt8(ascii: ";") else { throw .invalidChunkExtension }
            i += 1
            let nameStart = i
            while i < ext.endIndex, isTokenChar(ext[i]) { i += 1 }
            guard i > nameStart else { throw .invalidChunkExtension }
            guard i < ext.endIndex, ext[i] == UInt8(ascii: "=") else { continue }
            i += 1
            if i < ext.endIndex, ext[i] == UInt8(ascii: "\"") {
                i += 1
                var closed = false
                while i < ext.endIndex {
                    let c = ext[i]
                    if c == UInt8(ascii: "\\") {
                        i += 2
                        continue
                    }
                    if c == UInt8(ascii: "\"") {
                        closed = true
                        i += 1
                        break
                    }
                    guard c == 0x09 || (c >= 0x20 && c != 0x7F) else { throw .invalidChunkExtension }
                    i += 1
                }
                guard closed, i <= ext.endIndex else { throw .invalidChunkExtension }
            } else {
                let valueStart = i
                while i < ext.endIndex, isTokenChar(ext[i]) { i += 1 }
                guard i > valueStart else { throw .invalidChunkExtension }
            }
        }
    }
}
