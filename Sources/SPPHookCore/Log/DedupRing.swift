// SPDX-License-Identifier: MIT

/// The dedup table's entries in insertion order (the order they expire in), 12 bytes each:
/// the 32-bit fingerprint, and the log offset (48 bits) beside 16 bits of receive time.
///
/// Times are kept per chunk of 8192 entries: the chunk's first time, and for each entry the
/// seconds after it in 16 bits, in units of 2^shift seconds. When an entry does not fit,
/// the chunk's unit doubles and every delta in it is halved, rounding up. So a time read
/// back is never earlier than the one stored (an entry never expires early) and at most one
/// unit later: a second while a chunk fills within 18 hours, minutes for a chunk that
/// takes months. A time before the chunk's first (the clock set back) reads as that first
/// time, later again.
///
/// Full chunks never change, so a snapshot (``DedupTable/entries``) shares them; only the
/// last one is copied when it is appended to afterwards.
struct DedupRing: Sendable {
    struct Chunk: Sendable {
        /// offset << 16 | time delta
        var words: [UInt64] = []
        var homes: [UInt32] = []
        var base: UInt32
        var shift: UInt32 = 0

        init(base: UInt32) {
            self.base = base
            words.reserveCapacity(DedupRing.chunkSize)
            homes.reserveCapacity(DedupRing.chunkSize)
        }

        func atSeconds(_ i: Int) -> UInt32 { UInt32(clamping: UInt64(base) + ((words[i] & 0xFFFF) << UInt64(shift))) }

        func entry(_ i: Int) -> DedupTable.Entry {
            DedupTable.Entry(home: homes[i], offset: Int64(words[i] >> 16), atSeconds: atSeconds(i))
        }

        mutating func append(_ e: DedupTable.Entry) {
            let after = Self.after(e, base)
            widen(toHold: after)
            words.append(UInt64(e.offset) << 16 | Self.units(after, shift))
            homes.append(e.home)
        }

        /// Appends entries that fit (`count` of them or fewer). The unit is widened once for
        /// the latest of them, which stores each as appending one at a time would: halving
        /// a delta rounded up is the delta in the doubled unit rounded up.
        mutating func append(contentsOf entries: UnsafeBufferPointer<DedupTable.Entry>) {
            let base = self.base
            var latest: UInt64 = 0
            for e in entries { latest = Swift.max(latest, Self.after(e, base)) }
            widen(toHold: latest)
            let shift = self.shift
            words.append(contentsOf: entries.lazy.map { e in UInt64(e.offset) << 16 | Self.units(Self.after(e, base), shift) })
            homes.append(contentsOf: entries.lazy.map(\.home))
        }

        /// Seconds after the chunk's first time `base`; 0 for an earlier time.
        private static func after(_ e: DedupTable.Entry, _ base: UInt32) -> UInt64 {
            UInt64(e.atSeconds > base ? e.atSeconds - base : 0)
        }

        /// `after` in units of 2^shift seconds, rounded up.
        private static func units(_ after: UInt64, _ shift: UInt32) -> UInt64 { (after + (1 << UInt64(shift)) - 1) >> UInt64(shift) }

        /// Doubles the unit (halving every delta, rounding up) until `after` fits in 16 bits.
        private mutating func widen(toHold after: UInt64) {
            while Self.units(after, shift) > 0xFFFF {
                shift += 1
                for k in words.indices { words[k] = words[k] & ~0xFFFF | ((words[k] & 0xFFFF) + 1) >> 1 }
            }
        }
    }

    static let chunkSize = 8192

    private(set) var chunks: [Chunk] = []
    /// Entries of `chunks[0]` already dropped.
    private(set) var head = 0
    /// The number of `chunks[0]`'s first entry; entries are numbered in insertion order.
    private(set) var firstNumber: UInt64 = 0
    private(set) var count = 0

    /// The number the oldest entry has.
    var oldestNumber: UInt64 { firstNumber + UInt64(head) }

    // Every chunk but the last is full, the dropped part of the first included.
    func home(_ number: UInt64) -> UInt32 {
        let n = Int(number - firstNumber)
        return chunks[n / Self.chunkSize].homes[n % Self.chunkSize]
    }

    func entry(_ number: UInt64) -> DedupTable.Entry {
        let n = Int(number - firstNumber)
        return chunks[n / Self.chunkSize].entry(n % Self.chunkSize)
    }

    var oldest: DedupTable.Entry? { count > 0 ? chunks[0].entry(head) : nil }

    /// Appends; returns the entry's number.
    mutating func append(_ e: DedupTable.Entry) -> UInt64 {
        if chunks.last.map({ $0.words.count >= Self.chunkSize }) ?? true { chunks.append(Chunk(base: e.atSeconds)) }
        chunks[chunks.count - 1].append(e)
        count += 1
        return oldestNumber + UInt64(count - 1)
    }

    /// Appends entries in order, a chunk's worth at a time.
    mutating func append(contentsOf entries: UnsafeBufferPointer<DedupTable.Entry>) {
        var i = 0
        while i < entries.count {
            if chunks.last.map({ $0.words.count >= Self.chunkSize }) ?? true { chunks.append(Chunk(base: entries[i].atSeconds)) }
            let n = Swift.min(entries.count - i, Self.chunkSize - chunks[chunks.count - 1].words.count)
            chunks[chunks.count - 1].append(contentsOf: UnsafeBufferPointer(rebasing: entries[i..<i + n]))
            count += n
            i += n
        }
    }

    mutating func dropOldest() {
        count -= 1
        head += 1
        if head == Self.chunkSize || (count == 0 && chunks.count == 1) {
            chunks.removeFirst()
            firstNumber += UInt64(head)
            head = 0
        }
    }

    /// Calls `body` with each entry's number and home, oldest first, a chunk at a time.
    func forEachHome(_ body: (UInt64, UInt32) -> Void) {
        forEachChunk { first, homes in
            for i in homes.indices { body(first + UInt64(i), homes[i]) }
        }
    }

    /// Calls `body` with the homes of each chunk's live entries and the number of the first
    /// of them, oldest first.
    func forEachChunk(_ body: (UInt64, UnsafeBufferPointer<UInt32>) -> Void) {
        var number = oldestNumber
        for (c, chunk) in chunks.enumerated() {
            chunk.homes.withUnsafeBufferPointer { homes in
                let live = UnsafeBufferPointer(rebasing: homes[(c == 0 ? head : 0)...])
                body(number, live)
                number += UInt64(live.count)
            }
        }
    }
}

extension DedupTable {
    /// The entries, oldest first (a snapshot: it shares storage with the table until that changes).
    public struct Entries: Sequence, Sendable {
        let ring: DedupRing
        public var count: Int { ring.count }

        public func makeIterator() -> Iterator { Iterator(ring: ring, number: ring.oldestNumber, left: ring.count) }

        public struct Iterator: IteratorProtocol {
            let ring: DedupRing
            var number: UInt64
            var left: Int

            public mutating func next() -> Entry? {
                guard left > 0 else { return nil }
                left -= 1
                defer { number += 1 }
                return ring.entry(number)
            }
        }
    }
}
