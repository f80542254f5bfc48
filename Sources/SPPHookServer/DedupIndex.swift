// SPDX-License-Identifier: MIT
import SPPHookCore

/// Which events were stored recently, so a redelivery within the window is answered as a
/// duplicate instead of being stored twice. Keys are the first 128 bits of the event id.
struct DedupIndex {
    struct Key: Hashable {
        var high: UInt64
        var low: UInt64

        /// From the event id's 32 leading hex digits; nil for an id of another form.
        init?(id: String) {
            let u = Array(id.utf8)
            guard u.count >= 32 else { return nil }
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<32 {
                guard let d = HexDigit.value(u[i]) else { return nil }
                if i < 16 { h = h << 4 | UInt64(d) } else { l = l << 4 | UInt64(d) }
            }
            high = h
            low = l
        }
    }

    struct Entry {
        var seq: UInt64
        var atMs: Int64
        var category: EventCategory
        var durable: Bool
    }

    let windowMs: Int64
    let maxEntries: Int
    private(set) var entries: [Key: Entry] = [:]
    private var order: [(atMs: Int64, key: Key, seq: UInt64)] = []
    private var orderHead = 0

    init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        windowMs = Int64(windowSeconds) * 1000
        self.maxEntries = maxEntries
    }

    var isEnabled: Bool { windowMs > 0 }
    var count: Int { entries.count }

    subscript(key: Key) -> Entry? { entries[key] }

    mutating func insert(_ key: Key, _ entry: Entry) {
        guard isEnabled else { return }
        entries[key] = entry
        order.append((entry.atMs, key, entry.seq))
    }

    mutating func markDurable(_ key: Key, seq: UInt64) {
        if entries[key]?.seq == seq { entries[key]!.durable = true }
    }

    mutating func remove(_ key: Key, seq: UInt64) {
        if entries[key]?.seq == seq { entries[key] = nil }
    }

    /// Forgets entries older than the window (and the oldest beyond `maxEntries`).
    mutating func expire(now: Int64) {
        let cutoff = now - windowMs
        while orderHead < order.count, order[orderHead].atMs < cutoff || entries.count > maxEntries {
            let o = order[orderHead]
            if entries[o.key]?.seq == o.seq { entries[o.key] = nil }
            orderHead += 1
        }
        if orderHead > 4096 && orderHead * 2 > order.count {
            order.removeSubrange(0..<orderHead)
            orderHead = 0
        }
    }
}

enum HexDigit {
    static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
