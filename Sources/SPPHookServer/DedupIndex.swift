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
    /// Sharded by key, so growing one shard rehashes a sixty-fourth of the index while the
    /// log's lock is held, not all of it (a stall of tens of milliseconds at 500k entries).
    private var shards = [[Key: Entry]](repeating: [:], count: 64)
    private(set) var count = 0
    /// Insertion order, for expiry, in fixed-size chunks: appending never copies the whole
    /// history, and consumed chunks are dropped whole.
    private var order: [[(atMs: Int64, key: Key, seq: UInt64)]] = []
    private var orderHead = 0  // index into order[0]
    private static let chunkSize = 8192

    init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        windowMs = Int64(windowSeconds) * 1000
        self.maxEntries = maxEntries
    }

    var isEnabled: Bool { windowMs > 0 }

    private static func shard(_ key: Key) -> Int { Int(truncatingIfNeeded: key.low & 63) }

    subscript(key: Key) -> Entry? { shards[Self.shard(key)][key] }

    mutating func insert(_ key: Key, _ entry: Entry) {
        guard isEnabled else { return }
        if shards[Self.shard(key)].updateValue(entry, forKey: key) == nil { count += 1 }
        if order.last.map({ $0.count >= Self.chunkSize }) ?? true {
            order.append([])
            order[order.count - 1].reserveCapacity(Self.chunkSize)
        }
        order[order.count - 1].append((entry.atMs, key, entry.seq))
    }

    mutating func markDurable(_ key: Key, seq: UInt64) {
        let i = Self.shard(key)
        if shards[i][key]?.seq == seq { shards[i][key]!.durable = true }
    }

    mutating func remove(_ key: Key, seq: UInt64) {
        let i = Self.shard(key)
        if shards[i][key]?.seq == seq {
            shards[i][key] = nil
            count -= 1
        }
    }

    /// Forgets entries older than the window (and the oldest beyond `maxEntries`).
    mutating func expire(now: Int64) {
        let cutoff = now - windowMs
        while let first = order.first {
            guard orderHead < first.count else {
                order.removeFirst()
                orderHead = 0
                continue
            }
            let o = first[orderHead]
            guard o.atMs < cutoff || count > maxEntries else { return }
            remove(o.key, seq: o.seq)
            orderHead += 1
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
