// SPDX-License-Identifier: MIT

/// Appending ASCII text to a byte buffer without building a `String` first: the hot paths
/// (an event's log line, a response's head) write literals and numbers this way.
extension Array where Element == UInt8 {
    /// Appends the bytes of a literal.
    @inlinable
    public mutating func append(ascii literal: StaticString) {
        append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Appends `value` in decimal, as `String(value)` writes it.
    public mutating func append(decimal value: Int64) {
        if value < 0 { append(UInt8(ascii: "-")) }
        append(decimal: value.magnitude)
    }

    /// Appends `value` in decimal, as `String(value)` writes it.
    public mutating func append(decimal value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24; a UInt64 has at most 20
        Swift.withUnsafeMutableBytes(of: &digits) { d in
            var v = value
            var count = 0
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(v % 10)  // least significant first
                v /= 10
                count += 1
            } while v > 0
            for i in stride(from: count - 1, through: 0, by: -1) { append(d[i]) }
        }
    }

    /// Appends `byte` as two small hex digits.
    public mutating func append(hex byte: UInt8) {
        append(.hexDigit(byte >> 4))
        append(.hexDigit(byte & 0xF))
    }

    /// Appends the last `width` decimal digits of `value` (not negative), zero-padded.
    public mutating func append(digits value: Int, width: Int) {
        var divisor = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(v / divisor % 10))
            v %= divisor
            divisor /= 10
        }
    }
}

extension UInt8 {
    /// The small hex digit of `nibble` (0–15).
    @inlinable
    public static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
