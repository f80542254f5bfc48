// SPDX-License-Identifier: MIT

/// The stored part of the dedup index, kept small: for each event stored within the window,
/// 48 bits of its id, where its line starts in the log, and when it was received. Entries
/// are 16 bytes each, in insertion order (which is also the order they expire in), plus a
/// 4-byte slot in an open-addressing table filled to at most four fifths: about 22 MB for a
/// million entries. A slot holds the entry's number and 8 more bits of its fingerprint, so
/// a probe reads the slots (one cache line) and looks at an entry only when those match.
///
/// A fingerprint match is only a candidate: ``first(matching:_:)`` hands its log offset to
/// the caller, who reads that line and compares the whole id. So an event whose id shares
/// 48 bits with another's is never taken for its duplicate.
public struct DedupTable: Sendable {
    /// `a`: the fingerprint's high 32 bits, then the receive time in whole seconds rounded up;
    /// `b`: the log offset (48 bits), then the fingerprint's low 16 bits.
    public struct Entry: Sendable, Equatable {
        public var a: UInt64
        public var b: UInt64

        public init(a: UInt64, b: UInt64) {
            (self.a, self.b) = (a, b)
        }

        init(fingerprint: UInt64, offset: Int64, atSeconds: UInt32) {
            a = (fingerprint >> 16) << 32 | UInt64(atSeconds)
            b = UInt64(offset) << 16 | (fingerprint & 0xFFFF)
        }

        var fingerprint: UInt64 { (a >> 32) << 16 | (b & 0xFFFF) }
        public var offset: Int64 { Int64(b >> 16) }
        var atSeconds: UInt32 { UInt32(truncatingIfNeeded: a) }
        /// The fingerprint's high 32 bits: the low 6 choose the shard, the rest the slot.
        var home: UInt32 { UInt32(truncatingIfNeeded: a >> 32) }
        /// 8 fingerprint bits the home does not use, kept in the slot.
        var tag: UInt32 { UInt32(truncatingIfNeeded: b & 0xFF) }
    }

    /// Offsets at or beyond this are not indexed (256 TiB of log).
    public static let offsetLimit: Int64 = 1 << 48
    static let chunkSize = 8192
    static let shardCount = 64

    public let windowMs: Int64
    public let maxEntries: Int
    public private(set) var count = 0
    /// Entries in insertion order, in fixed-size chunks: appending never copies the whole
    /// history, consumed chunks are dropped whole, and a snapshot shares the full chunks.
    private var chunks: [[Entry]] = []
    /// Entries of `chunks[0]` already expired.
    private var head = 0
    /// The number of `chunks[0][0]`; entries are numbered in insertion order.
    private var firstNumber: UInt64 = 0
    /// Slots hold the tag and `number - numberBase + 1` in 24 bits (0 is empty). Renumbered
    /// when that nears `numberLimit`, once every 16 million insertions.
    private var numberBase: UInt64 = 0
    private let numberLimit: UInt64
    /// Which fingerprint bits are kept: all 48, except in tests that force collisions.
    private let fingerprintMask: UInt64
    /// Sharded, so growing one table rehashes a sixty-fourth of the index while the log's
    /// lock is held, not all of it.
    private var shards = [Shard](repeating: Shard(), count: shardCount)

    private struct Shard: Sendable {
        var slots: [UInt32] = []
        var used = 0

        /// Where the probe for `home` starts: its 26 position bits scaled to the table's size.
        func start(_ home: UInt32) -> Int { Int((UInt64(home >> 6) &* UInt64(slots.count)) >> 26) }
    }

    private static let numberBits: UInt32 = 24
    private static let numberMask: UInt32 = (1 << numberBits) - 1

    public init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        precondition(maxEntries < 1 << 23, "entries are numbered in 24 bits")
        self.init(windowSeconds: windowSeconds, maxEntries: maxEntries, numberLimit: (1 << 24) - 2)
    }

    /// Tests lower `numberLimit` to reach the renumbering and narrow `fingerprintMask` to
    /// make ids collide.
    init(windowSeconds: Int, maxEntries: Int, numberLimit: UInt64, fingerprintMask: UInt64 = (1 << 48) - 1) {
        precondition(numberLimit < 1 << Self.numberBits, "slots hold 24-bit numbers")
        windowMs = Int64(windowSeconds) * 1000
        self.maxEntries = maxEntries
        self.numberLimit = numberLimit
        self.fingerprintMask = fingerprintMask
    }

    public var isEnabled: Bool { windowMs > 0 }

    /// 48 bits mixed from all 128 of the key: uniform even for ids that are not hashes.
    func fingerprint(_ key: DedupKey) -> UInt64 {
        var x = key.high ^ (key.low &* 0x9E37_79B9_7F4A_7C15)
        x ^= x >> 32
        x &*= 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        return (x >> 16) & fingerprintMask
    }

    public static func seconds(ms: Int64) -> UInt32 { UInt32(clamping: (max(0, ms) + 999) / 1000) }

    /// Calls `verify` with the log offset of each entry whose fingerprint matches `key`,
    /// until it returns a value; nil when none did.
    public func first<T>(matching key: DedupKey, _ verify: (Int64) -> T?) -> T? {
        let fp = fingerprint(key)
        let home = UInt32(truncatingIfNeeded: fp >> 16), tag = UInt32(truncatingIfNeeded: fp & 0xFF)
        let shard = shards[Int(home & 63)]
        guard !shard.slots.isEmpty else { return nil }
        var i = shard.start(home)
        while shard.slots[i] != 0 {
            let v = shard.slots[i]
            if v >> Self.numberBits == tag {
                let e = entry(slot: v)
                if e.fingerprint == fp, let found = verify(e.offset) { return found }
            }
            i = i + 1 == shard.slots.count ? 0 : i + 1
        }
        return nil
    }

    /// Adds the event whose line starts at `offset`.
    public mutating func insert(_ key: DedupKey, offset: Int64, atMs: Int64) {
        guard isEnabled, offset >= 0, offset < Self.offsetLimit else { return }
        append(Entry(fingerprint: fingerprint(key), offset: offset, atSeconds: Self.seconds(ms: atMs)))
    }

    /// Adds an entry as a checkpoint kept it.
    public mutating func append(_ e: Entry) {
        let number = store(e)
        if number - numberBase + 1 >= numberLimit {
            renumber()
        } else {
            place(e, number: UInt32(number - numberBase + 1))
        }
    }

    /// Reads a checkpoint's entries in: `restore` each, then `finishRestoring` once. The
    /// slots are filled afterwards, four shards at a time, so the slots being written fit
    /// in the processor's cache; placing each entry as it comes costs a cache miss apiece
    /// (about a million of them).
    public mutating func restore(_ e: Entry) {
        _ = store(e)
    }

    public mutating func finishRestoring() {
        precondition(shards.allSatisfy { $0.used == 0 }, "finishRestoring on a table with placed entries")
        numberBase = firstNumber + UInt64(head)
        reserve(count)
        let chunks = self.chunks
        for group in 0..<(Self.shardCount / 4) {
            var n: UInt32 = 1
            for (c, chunk) in chunks.enumerated() {
                chunk.withUnsafeBufferPointer { chunk in
                    for i in (c == 0 ? head : 0)..<chunk.count {
                        let e = chunk[i]
                        if Int(e.home & 63) >> 2 == group { place(e, number: n) }
                        n += 1
                    }
                }
            }
        }
    }

    /// Appends to the insertion order; returns the entry's number.
    private mutating func store(_ e: Entry) -> UInt64 {
        if chunks.last.map({ $0.count >= Self.chunkSize }) ?? true {
            chunks.append([])
            chunks[chunks.count - 1].reserveCapacity(Self.chunkSize)
        }
        chunks[chunks.count - 1].append(e)
        count += 1
        return firstNumber + UInt64(head + count - 1)
    }

    /// Sizes the tables for `count` entries at once (a checkpoint being read), instead of
    /// doubling them a dozen times on the way.
    public mutating func reserve(_ count: Int) {
        // Shards get about count/64 each, give or take a few standard deviations.
        let perShard = count / Self.shardCount + Int(Double(count / Self.shardCount).squareRoot() * 4) + 16
        let slots = perShard * 5 / 4 + 1
        for s in shards.indices where shards[s].slots.count < slots && shards[s].used == 0 {
            shards[s].slots = [UInt32](repeating: 0, count: slots)
        }
    }

    /// Forgets entries older than the window (and the oldest beyond `maxEntries`).
    /// Times are kept in whole seconds rounded up: an entry may outlive the window by under
    /// a second, never expire early.
    public mutating func expire(now: Int64) {
        let cutoff = now - windowMs
        while count > 0 {
            let e = chunks[0][head]
            guard Int64(e.atSeconds) * 1000 < cutoff || count > maxEntries else { return }
            unplace(e, number: UInt32(firstNumber + UInt64(head) - numberBase + 1))
            count -= 1
            head += 1
            if head == Self.chunkSize {
                chunks.removeFirst()
                firstNumber += UInt64(head)
                head = 0
            }
        }
        if count == 0 && chunks.count == 1 && head == chunks[0].count {
            chunks = []
            firstNumber += UInt64(head)
            head = 0
        }
    }

    /// The entries, oldest first; a snapshot shares storage with the table until it changes.
    public var entries: Entries { Entries(chunks: chunks, head: head, count: count) }

    public struct Entries: Sequence, Sendable {
        let chunks: [[Entry]]
        let head: Int
        public let count: Int

        public func makeIterator() -> Iterator { Iterator(chunks: chunks, chunk: 0, index: head, left: count) }

        public struct Iterator: IteratorProtocol {
            let chunks: [[Entry]]
            var chunk: Int
            var index: Int
            var left: Int

            public mutating func next() -> Entry? {
                guard left > 0 else { return nil }
                if index == chunks[chunk].count {
                    chunk += 1
                    index = 0
                }
                left -= 1
                defer { index += 1 }
                return chunks[chunk][index]
            }
        }
    }

    // MARK: - Slots

    private func entry(slot value: UInt32) -> Entry {
        // Every chunk but the last is full, the consumed part of the first included.
        let n = Int(UInt64(value & Self.numberMask) - 1 + numberBase - firstNumber)
        return chunks[n / Self.chunkSize][n % Self.chunkSize]
    }

    private mutating func place(_ e: Entry, number: UInt32) {
        let s = Int(e.home & 63)
        if (shards[s].used + 1) * 5 > shards[s].slots.count * 4 { grow(s) }
        shards[s].used += 1
        let start = shards[s].start(e.home)
        let value = e.tag << Self.numberBits | number
        shards[s].slots.withUnsafeMutableBufferPointer { slots in
            var i = start
            while slots[i] != 0 { i = i + 1 == slots.count ? 0 : i + 1 }
            slots[i] = value
        }
    }

    /// Removes the slot holding entry `number`, shifting later slots of the run back so that
    /// every entry stays reachable from where its probe starts, without tombstones.
    private mutating func unplace(_ e: Entry, number: UInt32) {
        let s = Int(e.home & 63)
        let size = shards[s].slots.count
        let value = e.tag << Self.numberBits | number
        var i = shards[s].start(e.home)
        while shards[s].slots[i] != value { i = i + 1 == size ? 0 : i + 1 }
        var j = i
        while true {
            j = j + 1 == size ? 0 : j + 1
            let v = shards[s].slots[j]
            if v == 0 { break }
            let k = shards[s].start(entry(slot: v).home)
            // The entry at j may move to i when its start is not in the cyclic range (i, j].
            let stays = i <= j ? (i < k && k <= j) : (i < k || k <= j)
            if !stays {
                shards[s].slots[i] = v
                i = j
            }
        }
        shards[s].slots[i] = 0
        shards[s].used -= 1
    }

    /// One and a half times the slots (at most four fifths full), all placed again.
    private mutating func grow(_ s: Int) {
        let old = shards[s].slots
        shards[s].slots = [UInt32](repeating: 0, count: max(16, old.count + old.count / 2))
        shards[s].used = 0
        for v in old where v != 0 {
            let e = entry(slot: v)
            shards[s].used += 1
            var i = shards[s].start(e.home)
            while shards[s].slots[i] != 0 { i = i + 1 == shards[s].slots.count ? 0 : i + 1 }
            shards[s].slots[i] = v
        }
    }

    /// Numbers the live entries from 1 again (once every four billion insertions).
    private mutating func renumber() {
        numberBase = firstNumber + UInt64(head)
        let sizes = shards.map(\.slots.count)
        for s in shards.indices {
            shards[s].slots = [UInt32](repeating: 0, count: sizes[s])
            shards[s].used = 0
        }
        var n: UInt32 = 1
        for e in entries {
            place(e, number: n)
            n += 1
        }
    }
}

/// The key an event is deduplicated under: the 128 bits of its id (32 hex digits).
public struct DedupKey: Hashable, Sendable {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        (self.high, self.low) = (high, low)
    }

    /// From the event id's 32 leading hex digits; nil for an id of another form.
    public init?(id: String) {
        var h: UInt64 = 0, l: UInt64 = 0
        var i = 0
        for c in id.utf8 {
            guard i < 32 else { break }
            guard let d = HexDigit.value(c) else { return nil }
            if i < 16 { h = h << 4 | UInt64(d) } else { l = l << 4 | UInt64(d) }
            i += 1
        }
        guard i == 32 else { return nil }
        high = h
        low = l
    }
}

public enum HexDigit {
    public static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        case 0x41...0x46: c - 0x41 + 10
        default: nil
        }
    }
}
