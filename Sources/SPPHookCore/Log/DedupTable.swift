// SPDX-License-Identifier: MIT

/// The stored part of the dedup index, kept small: for each event stored within the window,
/// 32 bits mixed from its id, where its line starts in the log, and when it was received.
/// Entries take 12 bytes each in insertion order (``DedupRing``), plus a 4-byte slot in an
/// open-addressing table at most four fifths full: about 17 MB for a million. A slot holds
/// the entry's number and 8 of its fingerprint bits, so a probe reads the slots (one cache
/// line) and looks at an entry only when those match.
///
/// A fingerprint match is only a candidate: ``first(matching:_:)`` hands its log offset to
/// the caller, who reads that line and compares the whole id. So an event whose id shares
/// the 32 bits with another's is never taken for its duplicate (and one in about four
/// thousand new events, with a million stored, costs one line read).
public struct DedupTable: Sendable {
    /// An entry as a checkpoint keeps it: `a` is the fingerprint, then the receive time in
    /// whole seconds rounded up; `b` is the log offset.
    public struct Entry: Sendable, Equatable {
        public var a: UInt64
        public var b: UInt64

        public init(a: UInt64, b: UInt64) {
            (self.a, self.b) = (a, b)
        }

        init(home: UInt32, offset: Int64, atSeconds: UInt32) {
            a = UInt64(home) << 32 | UInt64(atSeconds)
            b = UInt64(offset)
        }

        /// The fingerprint: its low 6 bits choose the shard, the next 18 where the probe
        /// starts, the top 8 are the slot's tag.
        public var home: UInt32 { UInt32(truncatingIfNeeded: a >> 32) }
        public var offset: Int64 { Int64(bitPattern: b) }
        var atSeconds: UInt32 { UInt32(truncatingIfNeeded: a) }
    }

    /// Offsets at or beyond this are not indexed (256 TiB of log).
    public static let offsetLimit: Int64 = 1 << 48
    static let shardCount = 64

    public let windowMs: Int64
    public let maxEntries: Int
    public var count: Int { ring.count }
    private var ring = DedupRing()
    /// Slots hold the tag and `number - numberBase + 1` in 24 bits (0 is empty). Renumbered
    /// when that nears `numberLimit`, once every 16 million insertions.
    private var numberBase: UInt64 = 0
    private let numberLimit: UInt64
    /// Which fingerprint bits are kept: all 32, except in tests that force collisions.
    private let fingerprintMask: UInt32
    /// Sharded, so growing one table rehashes a sixty-fourth of the index while the log's
    /// lock is held, not all of it.
    private var shards = [Shard](repeating: Shard(), count: shardCount)

    private struct Shard: Sendable {
        var slots: [UInt32] = []
        var used = 0

        /// Where the probe for `home` starts: its 18 position bits scaled to the table's size.
        func start(_ home: UInt32) -> Int { Self.start(home, size: slots.count) }

        static func start(_ home: UInt32, size: Int) -> Int { Int((UInt64((home >> 6) & 0x3FFFF) &* UInt64(size)) >> 18) }
    }

    private static let numberBits: UInt32 = 24
    private static let numberMask: UInt32 = (1 << numberBits) - 1

    public init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        precondition(maxEntries < 1 << 23, "entries are numbered in 24 bits")
        self.init(windowSeconds: windowSeconds, maxEntries: maxEntries, numberLimit: (1 << 24) - 2)
    }

    /// Tests lower `numberLimit` to reach the renumbering and narrow `fingerprintMask` to
    /// make ids collide.
    init(windowSeconds: Int, maxEntries: Int, numberLimit: UInt64, fingerprintMask: UInt32 = .max) {
        precondition(numberLimit < 1 << Self.numberBits, "slots hold 24-bit numbers")
        windowMs = Int64(windowSeconds) * 1000
        self.maxEntries = maxEntries
        self.numberLimit = numberLimit
        self.fingerprintMask = fingerprintMask
    }

    public var isEnabled: Bool { windowMs > 0 }

    /// 32 bits mixed from all 128 of the key: uniform even for ids that are not hashes.
    func fingerprint(_ key: DedupKey) -> UInt32 {
        var x = key.high ^ (key.low &* 0x9E37_79B9_7F4A_7C15)
        x ^= x >> 32
        x &*= 0xD6E8_FEB8_6659_FD93
        x ^= x >> 32
        return UInt32(truncatingIfNeeded: x >> 32) & fingerprintMask
    }

    public static func seconds(ms: Int64) -> UInt32 { UInt32(clamping: (max(0, ms) + 999) / 1000) }

    /// Calls `verify` with the log offset of each entry whose fingerprint matches `key`,
    /// until it returns a value; nil when none did.
    public func first<T>(matching key: DedupKey, _ verify: (Int64) -> T?) -> T? {
        let home = fingerprint(key)
        let shard = shards[Int(home & 63)]
        guard !shard.slots.isEmpty else { return nil }
        var i = shard.start(home)
        while shard.slots[i] != 0 {
            let v = shard.slots[i]
            if v >> Self.numberBits == home >> 24 {
                let n = number(slot: v)
                if ring.home(n) == home, let found = verify(ring.entry(n).offset) { return found }
            }
            i = i + 1 == shard.slots.count ? 0 : i + 1
        }
        return nil
    }

    /// Adds the event whose line starts at `offset`.
    public mutating func insert(_ key: DedupKey, offset: Int64, atMs: Int64) {
        guard isEnabled, offset >= 0, offset < Self.offsetLimit else { return }
        append(Entry(home: fingerprint(key), offset: offset, atSeconds: Self.seconds(ms: atMs)))
    }

    /// Adds an entry (as a checkpoint kept it).
    public mutating func append(_ e: Entry) {
        guard e.offset >= 0, e.offset < Self.offsetLimit else { return }
        let number = ring.append(e)
        if number - numberBase + 1 >= numberLimit {
            renumber()
        } else {
            place(e.home, number: UInt32(number - numberBase + 1))
        }
    }

    /// The most entries `restore` may be given: half of what slot numbers can tell apart, so
    /// the appends after a restore renumber (``renumber()``) long before they run out.
    public var restoreLimit: Int { Int(numberLimit / 2) }

    /// Reads a checkpoint's entries in (at most ``restoreLimit``): `restore` them, then
    /// `finishRestoring` once, which places them all (see there).
    public mutating func restore(_ e: Entry) {
        guard e.offset >= 0, e.offset < Self.offsetLimit else { return }
        _ = ring.append(e)
    }

    /// `restore` for each of `entries`, in order, without the per-entry work of appending.
    public mutating func restore(contentsOf entries: [Entry]) {
        guard entries.allSatisfy({ $0.offset >= 0 && $0.offset < Self.offsetLimit }) else {
            for e in entries { restore(e) }
            return
        }
        entries.withUnsafeBufferPointer { ring.append(contentsOf: $0) }
    }

    /// Places the restored entries. Placing each as it comes costs a cache miss apiece, a
    /// million of them, since its slot is anywhere in 5 MB. So the entries are counted per
    /// shard (each shard gets the slots it needs), then gathered four shards at a time into a
    /// list grouped by shard (500 KB for a million), and each shard's slots are filled from
    /// its part of the list while they are in the cache.
    ///
    /// The two halves of the shards are independent: `both` runs two closures and returns
    /// their results, at the same time when the caller has a second thread for one.
    public mutating func finishRestoring(
        both: (_ a: @escaping @Sendable () -> [[UInt32]], _ b: @escaping @Sendable () -> [[UInt32]]) -> ([[UInt32]], [[UInt32]])
            = { ($0(), $1()) }
    ) {
        precondition(shards.allSatisfy { $0.used == 0 }, "finishRestoring on a table with placed entries")
        numberBase = ring.oldestNumber
        var counts = [Int](repeating: 0, count: Self.shardCount)
        counts.withUnsafeMutableBufferPointer { counts in
            ring.forEachChunk { _, homes in
                for h in homes { counts[Int(h & 63)] += 1 }
            }
        }
        let (entries, base, reserved) = (ring, numberBase, Self.slots(forAbout: count))
        let half = Self.shardCount / 2
        let (low, high) = both(
            { [counts] in Self.placed(shards: 0..<half, ring: entries, base: base, counts: counts, reserved: reserved) },
            { [counts] in Self.placed(shards: half..<Self.shardCount, ring: entries, base: base, counts: counts, reserved: reserved) })
        for (s, slots) in zip(shards.indices, low + high) {
            shards[s].slots = slots
            shards[s].used = counts[s]
        }
    }

    /// Places every entry again, in shards sized for the entries there are now, as after a
    /// restore. A table filled by inserting (a whole-log scan: a million entries in, more
    /// expired) keeps the slots its shards grew to, up to half again what they need.
    public mutating func compact(
        both: (_ a: @escaping @Sendable () -> [[UInt32]], _ b: @escaping @Sendable () -> [[UInt32]]) -> ([[UInt32]], [[UInt32]])
            = { ($0(), $1()) }
    ) {
        shards = [Shard](repeating: Shard(), count: Self.shardCount)
        finishRestoring(both: both)
    }

    /// All the slots of all shards (what the table's index takes, 4 bytes each).
    var slotCount: Int { shards.reduce(0) { $0 + $1.slots.count } }

    /// The slots of shards `range`, each holding the entries of `ring` in that shard.
    private static func placed(shards range: Range<Int>, ring: DedupRing, base: UInt64, counts: [Int], reserved: Int) -> [[UInt32]] {
        var result: [[UInt32]] = []
        let perGroup = 4
        for first in stride(from: range.lowerBound, to: range.upperBound, by: perGroup) {
            let group = first..<min(first + perGroup, range.upperBound)
            var starts = [0]
            for s in group { starts.append(starts[starts.count - 1] + counts[s]) }
            let gathered = gather(shards: group, starts: starts, ring: ring, base: base)
            gathered.withUnsafeBufferPointer { gathered in
                for (k, s) in group.enumerated() {
                    var slots = [UInt32](repeating: 0, count: max(reserved, counts[s] * 5 / 4 + 1))
                    slots.withUnsafeMutableBufferPointer { slots in
                        for v in gathered[starts[k]..<starts[k + 1]] {
                            let home = UInt32(truncatingIfNeeded: v >> 32)
                            var i = Shard.start(home, size: slots.count)
                            while slots[i] != 0 { i = i + 1 == slots.count ? 0 : i + 1 }
                            slots[i] = (home >> 24) << Self.numberBits | UInt32(truncatingIfNeeded: v)
                        }
                    }
                    result.append(slots)
                }
            }
        }
        return result
    }

    /// The home and slot number (`home << 32 | number`) of every entry whose shard is in
    /// `range`, grouped by shard: shard `range.lowerBound + k`'s from `starts[k]` on.
    private static func gather(shards range: Range<Int>, starts: [Int], ring: DedupRing, base: UInt64) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: starts[starts.count - 1]) { list, filled in
            var next = starts
            next.withUnsafeMutableBufferPointer { next in
                ring.forEachChunk { number, homes in
                    for i in homes.indices {
                        let home = homes[i]
                        let k = Int(home & 63) &- range.lowerBound
                        if k >= 0 && k < range.count {
                            list.initializeElement(at: next[k], to: UInt64(home) << 32 | (number + UInt64(i) - base + 1))
                            next[k] += 1
                        }
                    }
                }
            }
            filled = starts[starts.count - 1]
        }
    }

    /// Slots for a shard of a table holding `count` entries: shards get about count/64 each,
    /// give or take a few standard deviations, and are at most four fifths full.
    private static func slots(forAbout count: Int) -> Int {
        let perShard = count / shardCount + Int(Double(count / shardCount).squareRoot() * 4) + 16
        return perShard * 5 / 4 + 1
    }

    /// Forgets entries older than the window (and the oldest beyond `maxEntries`). Times
    /// read back are never earlier than stored: an entry may outlive the window a little,
    /// never expire early (see ``DedupRing``).
    public mutating func expire(now: Int64) {
        let cutoff = now - windowMs
        while let e = ring.oldest, Int64(e.atSeconds) * 1000 < cutoff || count > maxEntries {
            unplace(e.home, number: UInt32(ring.oldestNumber - numberBase + 1))
            ring.dropOldest()
        }
    }

    /// The entries, oldest first; a snapshot shares storage with the table until it changes.
    public var entries: Entries { Entries(ring: ring) }

    // MARK: - Slots

    private func number(slot value: UInt32) -> UInt64 { UInt64(value & Self.numberMask) - 1 + numberBase }

    private mutating func place(_ home: UInt32, number: UInt32) {
        let s = Int(home & 63)
        if (shards[s].used + 1) * 5 > shards[s].slots.count * 4 { grow(s) }
        shards[s].used += 1
        put((home >> 24) << Self.numberBits | number, in: s, from: shards[s].start(home))
    }

    /// Writes a slot value into the first free slot from `start` on (the table has room).
    private mutating func put(_ value: UInt32, in s: Int, from start: Int) {
        shards[s].slots.withUnsafeMutableBufferPointer { slots in
            var i = start
            while slots[i] != 0 { i = i + 1 == slots.count ? 0 : i + 1 }
            slots[i] = value
        }
    }

    /// Removes the slot holding entry `number`, shifting later slots of the run back so that
    /// every entry stays reachable from where its probe starts, without tombstones.
    private mutating func unplace(_ home: UInt32, number: UInt32) {
        let s = Int(home & 63)
        let size = shards[s].slots.count
        let value = (home >> 24) << Self.numberBits | number
        var i = shards[s].start(home)
        while shards[s].slots[i] != value { i = i + 1 == size ? 0 : i + 1 }
        var j = i
        while true {
            j = j + 1 == size ? 0 : j + 1
            let v = shards[s].slots[j]
            if v == 0 { break }
            let k = shards[s].start(ring.home(self.number(slot: v)))
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
        for v in old where v != 0 { put(v, in: s, from: shards[s].start(ring.home(number(slot: v)))) }
    }

    /// Numbers the live entries from 1 again (once every 16 million insertions).
    private mutating func renumber() {
        numberBase = ring.oldestNumber
        for s in shards.indices {
            shards[s].slots = [UInt32](repeating: 0, count: shards[s].slots.count)
            shards[s].used = 0
        }
        let ring = self.ring
        ring.forEachHome { number, home in place(home, number: UInt32(number - numberBase + 1)) }
    }
}
