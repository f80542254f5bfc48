// SPDX-License-Identifier: MIT
@testable import SPPHookCore
import Testing

@Suite("Dedup table and checkpoint format")
struct DedupTableTests {
    static func key(_ n: Int) -> DedupKey {
        let hex = String(UInt64(truncatingIfNeeded: n) &* 0x2545_F491_4F6C_DD1D, radix: 16)
        return DedupKey(id: String(repeating: "0", count: 32 - hex.count) + hex)!
    }

    /// What a log would answer: the key whose line starts at each offset.
    struct Log {
        var keys: [Int64: DedupKey] = [:]

        func verify(_ key: DedupKey) -> (Int64) -> Int64? {
            { offset in keys[offset] == key ? offset : nil }
        }
    }

    @Test(arguments: [
        ("0123456789abcdef0123456789abcdef", DedupKey(high: 0x0123_4567_89AB_CDEF, low: 0x0123_4567_89AB_CDEF)),
        ("FFFFFFFFFFFFFFFF0000000000000001", DedupKey(high: .max, low: 1)),
        ("0123456789abcdef0123456789abcdef-and-more", DedupKey(high: 0x0123_4567_89AB_CDEF, low: 0x0123_4567_89AB_CDEF)),
        ("0123456789abcdef0123456789abcde", nil), ("0123456789abcdefg123456789abcdef", nil),
        ("0123456789abcdef0123456789abcdeg", nil), ("", nil), ("é123456789abcdef0123456789abcdef", nil),
    ] as [(String, DedupKey?)])
    func keyFromAnEventID(_ id: String, _ key: DedupKey?) {
        #expect(DedupKey(id: id) == key)
    }

    /// Times are kept in whole seconds rounded up: an entry lives at least the window.
    @Test(arguments: [(1_000, 60_999, true), (1_000, 61_000, true), (1_000, 61_001, false), (1_001, 62_000, true), (1_001, 62_001, false)])
    func expiryIsNeverEarly(insertedMs: Int, nowMs: Int, kept: Bool) {
        var table = DedupTable(windowSeconds: 60)
        let log = Log(keys: [7: Self.key(1)])
        table.insert(Self.key(1), offset: 7, atMs: Int64(insertedMs))
        table.expire(now: Int64(nowMs))
        #expect((table.first(matching: Self.key(1), log.verify(Self.key(1))) != nil) == kept)
        #expect(table.count == (kept ? 1 : 0))
    }

    /// Against a plain model (a dictionary and a queue), under random inserts, expiry and
    /// lookups, with fingerprints narrowed so that most ids collide (all in one shard and one
    /// run of slots with the narrowest), and entry numbers wrapping often.
    /// Fingerprint masks: all bits; shard and tag only (each shard one run of slots); start
    /// bits only (every tag equal); eight values in all.
    static let models: [(UInt32, UInt64)] = [(.max, (1 << 24) - 2), (0xFF00_003F, 9000), (0x00FF_FFC0, 6500), (0x7, (1 << 24) - 2)]

    @Test(arguments: models)
    func behavesLikeTheModel(fingerprintMask: UInt32, numberLimit: UInt64) {
        var table = DedupTable(windowSeconds: 100, maxEntries: 10000, numberLimit: numberLimit, fingerprintMask: fingerprintMask)
        var rng = SplitMix(seed: UInt64(fingerprintMask) ^ numberLimit)
        var log = Log()
        var latest: [DedupKey: Int64] = [:]  // the model: when each key was last stored
        var now: Int64 = 1_000_000
        var offset: Int64 = 0
        let rounds = fingerprintMask == 0x7 ? 3000 : 20000
        for step in 0..<rounds {
            now += Int64(rng.next() % 40)
            let n = Int(rng.next() % 6000)
            let key = Self.key(n)
            table.expire(now: now)
            let expected = latest[key].map { $0 >= now - 100_000 } ?? false
            let found = table.first(matching: key, log.verify(key))
            if expected { #expect(found != nil, "step \(step): \(n) lost") }
            if let found { #expect(log.keys[found] == key, "step \(step): \(n) matched another id") }
            if found == nil {
                table.insert(key, offset: offset, atMs: now)
                log.keys[offset] = key
                latest[key] = now
                offset += Int64(1 + rng.next() % 3000)
            }
        }
        // Every entry the table still holds is reachable and in insertion order.
        let entries = Array(table.entries)
        #expect(entries.count == table.count)
        #expect(zip(entries, entries.dropFirst()).allSatisfy { $0.offset < $1.offset })
        for e in entries {
            let key = log.keys[e.offset]!
            #expect(table.first(matching: key, log.verify(key)) != nil)
        }
    }

    /// Entries far apart in time share a chunk whose time unit grows; slow and fast ones,
    /// and one stored after the clock was set back, each live at least the window.
    @Test(arguments: [1, 40_000, 3_000_000])
    func timesReadBackAreNeverEarlier(secondsApart: Int64) {
        let window: Int64 = 3600
        var table = DedupTable(windowSeconds: Int(window))
        var log = Log()
        var times: [Int64] = []
        for k in 0..<300 {
            let t = 1_700_000_000_000 + Int64(k) * secondsApart * 1000 - (k == 150 ? 5_000_000 : 0)  // one set back
            times.append(t)
            table.insert(Self.key(k), offset: Int64(k), atMs: t)
            log.keys[Int64(k)] = Self.key(k)
        }
        for k in 0..<300 {
            table.expire(now: times[k] + window * 1000)  // the last moment entry k must be there
            #expect(table.first(matching: Self.key(k), log.verify(Self.key(k))) == Int64(k), "entry \(k) expired early")
        }
        table.expire(now: times.max()! + window * 1000 + 400 * 86_400_000)
        #expect(table.count == 0)
    }

    @Test func theOldestGoBeyondMaxEntries() {
        var table = DedupTable(windowSeconds: 3600, maxEntries: 100)
        var log = Log()
        for n in 0..<250 {
            table.insert(Self.key(n), offset: Int64(n), atMs: 1000)
            log.keys[Int64(n)] = Self.key(n)
            table.expire(now: 1000)
        }
        #expect(table.count == 100)
        #expect(table.first(matching: Self.key(149), log.verify(Self.key(149))) == nil)
        #expect(table.first(matching: Self.key(150), log.verify(Self.key(150))) == 150)
    }

    @Test func aSnapshotDoesNotChangeWithTheTable() {
        var table = DedupTable(windowSeconds: 60)
        for n in 0..<20000 { table.insert(Self.key(n), offset: Int64(n) * 10, atMs: Int64(n)) }
        let snapshot = table.entries
        let before = Array(snapshot)
        for n in 20000..<30000 { table.insert(Self.key(n), offset: Int64(n) * 10, atMs: 60_000 + Int64(n)) }
        table.expire(now: 80_000)
        #expect(Array(snapshot) == before)
        #expect(snapshot.count == 20000)
        #expect(table.count < 30000)
    }

    @Test func aCheckpointRoundTrips() throws {
        var table = DedupTable(windowSeconds: 60)
        for n in 0..<10000 { table.insert(Self.key(n), offset: Int64(n) * 100, atMs: 5000) }
        let cp = DedupCheckpoint(end: 1_000_000, lastSeq: 10000, windowMs: 60000, writtenAtMs: 9, count: table.count)
        var bytes = cp.header
        DedupCheckpoint.encode(table.entries, into: &bytes)
        var sum = DedupCheckpoint.Checksum()
        sum.add(bytes[...])
        DedupCheckpoint.put(sum.final, &bytes)
        let read = try DedupCheckpoint(header: bytes[...], fileSize: Int64(bytes.count))
        #expect(read == cp)
        var restored = DedupTable(windowSeconds: 60)
        DedupCheckpoint.decode(bytes[64..<(bytes.count - 8)]) { restored.restore($0) }
        restored.finishRestoring()
        #expect(Array(restored.entries) == Array(table.entries))
        var log = Log()
        for n in 0..<10000 { log.keys[Int64(n) * 100] = Self.key(n) }
        let lost = (0..<10000).filter { restored.first(matching: Self.key($0), log.verify(Self.key($0))) != Int64($0) * 100 }
        #expect(lost.isEmpty)
        // It goes on like the original: more entries, then expiry of all.
        for n in 10000..<12000 { restored.insert(Self.key(n), offset: Int64(n) * 100, atMs: 6000) }
        #expect(restored.first(matching: Self.key(11000), log.verify(Self.key(11000))) == nil, "not in the log: not verified")
        restored.expire(now: 70_000)
        #expect(restored.count == 0)
    }

    /// Restoring in batches, then placing everything at once, gives the table that inserting
    /// gave: the same entries and times, every id found, and afterwards it answers as the
    /// original does through more inserts and expiry. Ids spread over all shards, crowded into
    /// eight shards of one run of slots each (far more than the slots reserved for an even
    /// spread), or into one run per shard; times a second to a month apart (a chunk's unit widens); counts
    /// around a chunk's 8,192 entries.
    static let restores: [(UInt32, Int, Int64)] = [
        (.max, 0, 1), (.max, 1, 1), (.max, 8192, 1), (.max, 20_000, 1), (.max, 20_000, 40_000),
        (0x7, 3000, 1), (0xFF00_003F, 800, 3_000_000), (0x7, 3000, 40_000),
    ]

    @Test(arguments: restores)
    func restoringInBatchesGivesTheInsertedTable(fingerprintMask: UInt32, count: Int, secondsApart: Int64) throws {
        func table() -> DedupTable {
            DedupTable(windowSeconds: 86_400, maxEntries: 100_000, numberLimit: (1 << 24) - 2, fingerprintMask: fingerprintMask)
        }
        var original = table()
        var log = Log()
        let start: Int64 = 1_700_000_000_000
        func time(_ n: Int) -> Int64 { start + Int64(n) * secondsApart * 1000 }
        for n in 0..<count {
            original.insert(Self.key(n), offset: Int64(n) * 10, atMs: time(n))
            log.keys[Int64(n) * 10] = Self.key(n)
        }
        let entries = Array(original.entries)
        var restored = table()
        for first in stride(from: 0, to: entries.count, by: 3001) {  // batches across the chunks' edges
            restored.restore(contentsOf: Array(entries[first..<min(first + 3001, entries.count)]))
        }
        restored.finishRestoring { a, b in  // the halves in the other order: they are independent
            let second = b()
            return (a(), second)
        }
        #expect(Array(restored.entries) == entries)
        let lost = (0..<count).filter { restored.first(matching: Self.key($0), log.verify(Self.key($0))) != Int64($0) * 10 }
        // Not further with slots that do not match the entries: removing one would search forever.
        try #require(lost.count == 0, "\(lost.count) of \(count) not found, the first \(lost.first ?? -1)")
        for n in count..<count + 500 {
            original.insert(Self.key(n), offset: Int64(n) * 10, atMs: time(count))
            restored.insert(Self.key(n), offset: Int64(n) * 10, atMs: time(count))
            log.keys[Int64(n) * 10] = Self.key(n)
        }
        original.expire(now: time(count / 2) + 86_400_000)
        restored.expire(now: time(count / 2) + 86_400_000)
        #expect(restored.count == original.count)
        let differ = (0..<count + 500).filter {
            restored.first(matching: Self.key($0), log.verify(Self.key($0))) != original.first(matching: Self.key($0), log.verify(Self.key($0)))
        }
        #expect(differ.count == 0, "\(differ.count) ids answered differently after expiry, the first \(differ.first ?? -1)")
        restored.expire(now: time(count) + 400 * 86_400_000)
        #expect(restored.count == 0)
    }

    /// A table filled by inserting, past `maxEntries` so the oldest expire, keeps the slots
    /// its shards grew to; `compact` places the same entries in the slots a restore gives
    /// them, and the table answers as before, through more inserts and expiry.
    @Test(arguments: [UInt32.max, 0xFF00_003F])
    func compactingKeepsEveryAnswerInFewerSlots(fingerprintMask: UInt32) throws {
        func table() -> DedupTable {
            DedupTable(windowSeconds: 86_400, maxEntries: 20_000, numberLimit: (1 << 24) - 2, fingerprintMask: fingerprintMask)
        }
        var original = table()
        var log = Log()
        let start: Int64 = 1_700_000_000_000
        for n in 0..<60_000 {
            original.insert(Self.key(n), offset: Int64(n) * 10, atMs: start + Int64(n) * 1000)
            log.keys[Int64(n) * 10] = Self.key(n)
            original.expire(now: start + Int64(n) * 1000)
        }
        var compacted = original
        compacted.compact { a, b in
            let second = b()
            return (a(), second)
        }
        #expect(Array(compacted.entries) == Array(original.entries))
        var restored = table()
        restored.restore(contentsOf: Array(original.entries))
        restored.finishRestoring()
        #expect(compacted.slotCount == restored.slotCount)
        #expect(compacted.slotCount < original.slotCount, "\(compacted.slotCount) slots after, \(original.slotCount) before")
        let differ = (0..<60_000).filter {
            compacted.first(matching: Self.key($0), log.verify(Self.key($0))) != original.first(matching: Self.key($0), log.verify(Self.key($0)))
        }
        try #require(differ.count == 0, "\(differ.count) ids answered differently, the first \(differ.first ?? -1)")
        #expect(compacted.first(matching: Self.key(59_999), log.verify(Self.key(59_999))) == 599_990)
        for n in 60_000..<70_000 {
            original.insert(Self.key(n), offset: Int64(n) * 10, atMs: start + Int64(n) * 1000)
            compacted.insert(Self.key(n), offset: Int64(n) * 10, atMs: start + Int64(n) * 1000)
            log.keys[Int64(n) * 10] = Self.key(n)
            original.expire(now: start + Int64(n) * 1000)
            compacted.expire(now: start + Int64(n) * 1000)
        }
        #expect(compacted.count == original.count)
        let after = (0..<70_000).filter {
            compacted.first(matching: Self.key($0), log.verify(Self.key($0))) != original.first(matching: Self.key($0), log.verify(Self.key($0)))
        }
        #expect(after.count == 0, "\(after.count) ids answered differently after more inserts, the first \(after.first ?? -1)")
    }

    static let badHeaders: [(String, DedupCheckpoint.Invalid)] = [
        ("short", .notACheckpoint), ("magic", .notACheckpoint), ("version", .version(2)),
        ("truncated", .size(expected: 120, actual: 112)), ("longer", .size(expected: 120, actual: 129)),
    ]

    @Test(arguments: badHeaders)
    func aBadHeaderIsRefused(_ damage: String, _ expected: DedupCheckpoint.Invalid) {
        var header = DedupCheckpoint(end: 1, lastSeq: 1, windowMs: 1, writtenAtMs: 1, count: 3).header
        var size = DedupCheckpoint.fileSize(count: 3)
        switch damage {
        case "short": header = Array(header.prefix(40))
        case "magic": header[0] = UInt8(ascii: "X")
        case "version": header[8] = 2
        case "truncated": size -= 8
        default: size += 9
        }
        #expect(throws: expected) { try DedupCheckpoint(header: header[...], fileSize: size) }
    }

    /// Any single flipped bit changes the checksum (sampled over a file's positions).
    @Test func theChecksumSeesAFlippedBit() {
        var bytes = DedupCheckpoint(end: 5, lastSeq: 2, windowMs: 3, writtenAtMs: 4, count: 64).header
        for n in 0..<64 { DedupCheckpoint.put(UInt64(n) &* 0x1234_5678_9ABC_DEF1, &bytes); DedupCheckpoint.put(UInt64(n), &bytes) }
        var good = DedupCheckpoint.Checksum()
        good.add(bytes[...])
        for position in stride(from: 0, to: bytes.count, by: 7) {
            for bit in [0, 3, 7] {
                var damaged = bytes
                damaged[position] ^= 1 << bit
                var sum = DedupCheckpoint.Checksum()
                sum.add(damaged[...])
                #expect(sum.final != good.final, "bit \(bit) of byte \(position)")
            }
        }
    }
}

/// A small seeded generator, so a failing case can be run again.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
