// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

/// Group commit as a value: what each append is told, what a flush writes, and how a
/// flush's result becomes answers, with the log's I/O played by the test.
@Suite("Group commit")
struct GroupCommitTests {
    typealias Commit = GroupCommit<String>
    static let a = DedupKey(high: 1, low: 1), b = DedupKey(high: 2, low: 2)
    static let t0: Int64 = 1_700_000_000_000

    static func fresh() -> Commit {
        Commit(lastSeq: 0, dedup: DedupIndex(windowSeconds: 3600), covered: (0, 0))
    }

    static func append(_ c: inout Commit, _ key: DedupKey?, _ ticket: String, verified: [Int64: DedupIndex.Original?] = [:])
        -> Commit.Step
    {
        c.append(key: key, category: .orders, atMs: t0, tail: Array("\"t\":\"\(ticket)\"}\n".utf8), ticket: ticket, verified: verified)
    }

    static func startsFlush(_ step: Commit.Step) -> Bool? {
        if case .queued(let start) = step { return start }
        return nil
    }

    static func answers(_ settled: (answers: [(String, AppendOutcome)], more: Bool)) -> [String: AppendOutcome] {
        Dictionary(uniqueKeysWithValues: settled.answers.map { ($0.0, $0.1) })
    }

    @Test func theFirstAppendStartsAFlushAndOthersJoinTheBatch() {
        var c = Self.fresh()
        #expect(Self.startsFlush(Self.append(&c, Self.a, "x")) == true)
        #expect(Self.startsFlush(Self.append(&c, Self.b, "y")) == false)
        #expect(Self.startsFlush(Self.append(&c, nil, "z")) == false, "no key: never deduplicated")
        let batch = c.takeBatch()
        #expect(String(decoding: batch.bytes, as: UTF8.self) == "{\"seq\":1,\"t\":\"x\"}\n{\"seq\":2,\"t\":\"y\"}\n{\"seq\":3,\"t\":\"z\"}\n")
        #expect(batch.lineStarts == [0, 18, 36])
        // Appended while the batch is on its way: the running flush takes it next.
        #expect(Self.startsFlush(Self.append(&c, nil, "w")) == false)
        let settled = c.settle(batch, end: 1000 + Int64(batch.bytes.count), failure: nil)
        #expect(settled.more)
        #expect(Self.answers(settled) == ["x": .stored(seq: 1), "y": .stored(seq: 2), "z": .stored(seq: 3)])
        let covered = c.covered
        #expect(covered == (1054, 3))
        let next = c.takeBatch()
        #expect(Self.answers(c.settle(next, end: 1072, failure: nil)) == ["w": .stored(seq: 4)])
        let idle = c.isIdle
        #expect(idle)
        #expect(Self.startsFlush(Self.append(&c, nil, "v")) == true, "idle again: the next append starts a flush")
    }

    /// A stored candidate is confirmed by the caller's read of its line, outside any lock.
    @Test(arguments: [
        ("the line there is the original", DedupIndex.Original(seq: 1, category: .orders) as DedupIndex.Original?, AppendOutcome?.some(.duplicate(seq: 1, category: .orders))),
        ("the line there has another id (a fingerprint collision)", nil, nil),
    ])
    func aStoredCandidateIsVerifiedByTheCaller(_ name: String, read: DedupIndex.Original?, expected: AppendOutcome?) {
        var c = Self.fresh()
        _ = Self.append(&c, Self.a, "x")
        let batch = c.takeBatch()
        _ = c.settle(batch, end: 500 + Int64(batch.bytes.count), failure: nil)
        guard case .verify(let offsets) = Self.append(&c, Self.a, "again") else {
            Issue.record("\(name): a stored candidate must be verified first")
            return
        }
        #expect(offsets == [500], "the line's logical offset")
        let step = Self.append(&c, Self.a, "again", verified: [500: read])
        switch (step, expected) {
        case (.answer(let outcome), let expected?): #expect(outcome == expected, "\(name)")
        case (.queued, nil):
            let seq = c.lastSeq
            #expect(seq == 2, "\(name): stored as a new event")
        default: Issue.record("\(name): \(step)")
        }
    }

    /// A redelivery of an event still on its way to disk shares its original's fate.
    @Test(arguments: [
        ("same batch, stored", false, nil as String?, AppendOutcome.duplicate(seq: 1, category: .orders)),
        ("same batch, failed", false, "disk full", .unavailable("disk full")),
        ("next batch, original stored", true, nil, .duplicate(seq: 1, category: .orders)),
        ("next batch, original failed", true, "disk full", .unavailable("the original delivery was not stored")),
    ])
    func aRedeliveryInFlightSharesItsOriginalsFate(_ name: String, nextBatch: Bool, failure: String?, expected: AppendOutcome) {
        var c = Self.fresh()
        _ = Self.append(&c, Self.a, "original")
        var first = c.takeBatch()
        if !nextBatch { first = Self.withRedelivery(&c) }
        if nextBatch { _ = Self.append(&c, Self.a, "redelivery") }
        let settled = Self.answers(c.settle(first, end: Int64(first.bytes.count), failure: failure))
        var answer = settled["redelivery"]
        if nextBatch {
            let second = c.takeBatch()
            answer = Self.answers(c.settle(second, end: Int64(first.bytes.count), failure: nil))["redelivery"]
        }
        #expect(answer == expected, "\(name)")
        let seq = c.lastSeq
        #expect(seq == 1, "\(name): a redelivery takes no seq")
    }

    /// The original and its redelivery queued together, then taken as one batch.
    static func withRedelivery(_ c: inout Commit) -> Commit.Batch {
        // The original's batch was taken; put it back in front by appending both to a fresh value.
        c = fresh()
        _ = append(&c, a, "original")
        _ = append(&c, a, "redelivery")
        return c.takeBatch()
    }

    @Test func aFailedBatchFreesItsKeysAndSeqsGoOn() {
        var c = Self.fresh()
        _ = Self.append(&c, Self.a, "x")
        let batch = c.takeBatch()
        #expect(Self.answers(c.settle(batch, end: 0, failure: "EIO")) == ["x": .unavailable("EIO")])
        #expect(Self.startsFlush(Self.append(&c, Self.a, "retry")) == true, "the key is new again")
        let retry = c.takeBatch()
        #expect(Self.answers(c.settle(retry, end: Int64(retry.bytes.count), failure: nil)) == ["retry": .stored(seq: 2)])
    }

    @Test func seqsContinueAboveACursorAheadOfTheLog() {
        var c = Self.fresh()
        c.continueSeq(after: 41)
        _ = Self.append(&c, nil, "x")
        let batch = c.takeBatch()
        #expect(Self.answers(c.settle(batch, end: 99, failure: nil)) == ["x": .stored(seq: 42)])
    }
}
