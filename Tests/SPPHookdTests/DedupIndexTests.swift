// SPDX-License-Identifier: MIT
import SPPHookCore
@testable import SPPHookServer
import Testing

@Suite("Dedup index (packed entries)")
struct DedupIndexTests {
    static func key(_ n: Int) -> DedupIndex.Key { DedupIndex.Key(id: EventLogTests.id(n))! }

    @Test(arguments: EventCategory.allCases)
    func entriesComeBackAsStored(_ category: EventCategory) {
        var index = DedupIndex(windowSeconds: 60)
        for (n, seq) in ([1, 255, (1 << 32) + 7, (1 << 56) - 1] as [UInt64]).enumerated() {
            index.insert(Self.key(n), .init(seq: seq, atMs: 1_000, category: category, durable: n % 2 == 0))
            let e = index[Self.key(n)]
            #expect(e?.seq == seq)
            #expect(e?.category == category)
            #expect(e?.durable == (n % 2 == 0))
        }
        index.markDurable(Self.key(1), seq: 255)
        #expect(index[Self.key(1)]?.durable == true)
        index.markDurable(Self.key(3), seq: 1)  // another seq: left alone
        #expect(index[Self.key(3)]?.durable == false)
    }

    /// Times are kept in whole seconds rounded up: an entry lives at least the window.
    @Test(arguments: [(1_000, 60_999, true), (1_000, 61_000, true), (1_000, 61_001, false), (1_001, 62_000, true), (1_001, 62_001, false)])
    func expiryIsNeverEarly(insertedMs: Int, nowMs: Int, kept: Bool) {
        var index = DedupIndex(windowSeconds: 60)
        index.insert(Self.key(1), .init(seq: 1, atMs: Int64(insertedMs), category: .orders, durable: true))
        index.expire(now: Int64(nowMs))
        #expect((index[Self.key(1)] != nil) == kept)
        #expect(index.count == (kept ? 1 : 0))
    }

    @Test func anOldInsertionDoesNotExpireALaterEntryUnderTheSameKey() {
        var index = DedupIndex(windowSeconds: 60)
        index.insert(Self.key(1), .init(seq: 1, atMs: 0, category: .orders, durable: false))
        index.remove(Self.key(1), seq: 1)  // a failed batch
        index.insert(Self.key(1), .init(seq: 2, atMs: 50_000, category: .orders, durable: true))
        index.expire(now: 61_000)  // the first insertion's time has passed, the second's has not
        #expect(index[Self.key(1)]?.seq == 2)
        #expect(index.count == 1)
    }
}
