// SPDX-License-Identifier: MIT

/// The key an event is deduplicated under: the 128 bits of its id (32 hex digits).
public struct DedupKey: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        (self.high, self.low) = (high, low)
    }

    /// From the event id's 32 leading hex digits; nil for an id of another form.
    public init?(id: String) {
        var id = id
        guard let key = id.withUTF8(Self.parse) else { return nil }
        self = key
    }

    /// The key in the first 32 bytes of `id` (hex digits), or nil.
    private static func parse(_ id: UnsafeBufferPointer<UInt8>) -> DedupKey? {
        guard id.count >= 32 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<16 {
            guard let x = HTTPSyntax.hexValue(id[i]), let y = HTTPSyntax.hexValue(id[i + 16]) else { return nil }
            h = h << 4 | UInt64(x)
            l = l << 4 | UInt64(y)
        }
        return DedupKey(high: h, low: l)
    }
}
