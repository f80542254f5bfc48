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

    /// An entry as the index keeps it: seq in the low 56 bits, the category's index in the
    /// next 7, durable in the top one (8 bytes a key instead of 24; the time is in `order`).
    private struct Packed {
        var bits: UInt64

        private static let categories = EventCategory.allCases
        private static let seqMask: UInt64 = (1 << 56) - 1

        init(_ e: Entry) {
            let category = UInt64(Self.categories.firstIndex(of: e.category) ?? Self.categories.count - 1)
            bits = (e.seq & Self.seqMask) | category << 56 | (e.durable ? 1 << 63 : 0)
        }

        var seq: UInt64 { bits & Self.seqMask }
        var durable: Bool {
            get { bits >> 63 == 1 }
            set { bits = newValue ? bits | 1 << 63 : bits & ~(1 << 63) }
        }

        func entry(atMs: Int64) -> Entry {
            Entry(seq: seq, atMs: atMs, category: Self.categories[Int((bits >> 56) & 0x7F)], durable: durable)
        }
    }

    /// One insertion, for expiry: the time in whole seconds rounded up (an entry may
    /// outlive the window by under a second, never expire early) and the seq's low bits,
    /// enough to tell a later entry under the same key from this one.
    private struct Insertion {
        var key: Key
        var seqLow: UInt32
        var atSeconds: UInt32

        init(key: Key, seq: UInt64, atMs: Int64) {
            self.key = key
            seqLow = UInt32(truncatingIfNeeded: seq)
            atSeconds = UInt32(clamping: (max(0, atMs) + 999) / 1000)
        }
    }

    let windowMs: Int64
    let maxEntries: Int
    /// Sharded by key, so growing one shard rehashes a sixty-fourth of the index while the
    /// log's lock is held, not all of it (a stall of tens of milliseconds at 500k entries).
    private var shards = [[Key: Packed]](repeating: [:], count: 64)
    private(set) var count = 0
    /// Insertion order, for expiry, in fixed-size chunks: appending never copies the whole
    /// history, and consumed chunks are dropped whole.
    private var order: [[Insertion]] = []
    private var orderHead = 0  // index into order[0]
    private static let chunkSize = 8192

    init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        windowMs = Int64(windowSeconds) * 1000
        self.maxEntries = maxEntries
    }

    var isEnabled: Bool { windowMs > 0 }

    private static func shard(_ key: Key) -> Int { Int(truncatingIfNeeded: key.low & 63) }

    /// The entry under `key` (its `atMs` is not kept: reported as 0).
    subscript(key: Key) -> Entry? { shards[Self.shard(key)][key]?.entry(atMs: 0) }

    mutating func insert(_ key: Key, _ entry: Entry) {
        guard isEnabled else { return }
        if shards[Self.shard(key)].updateValue(Packed(entry), forKey: key) == nil { count += 1 }
        if order.last.map({ $0.count >= Self.chunkSize }) ?? true {
            order.append([])
            order[order.count - 1].reserveCapacity(Self.chunkSize)
        }
        order[order.count - 1].append(Insertion(key: key, seq: entry.seq, atMs: entry.atMs))
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
            guard Int64(o.atSeconds) * 1000 < cutoff || count > maxEntries else { return }
            let i = Self.shard(o.key)
            if let current = shards[i][o.key], UInt32(truncatingIfNeeded: current.seq) == o.seqLow {
                shards[i][o.key] = nil
                count -= 1
            }
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
