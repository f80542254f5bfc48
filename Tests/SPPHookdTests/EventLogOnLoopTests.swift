// SPDX-License-Identifier: MIT
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Synchronization
import Testing

/// An intake loop writes the batch of its round itself, at the round's end; what other
/// threads append while it syncs goes on on the log's writer thread.
@Suite("Event log on an intake loop")
struct EventLogOnLoopTests {
    let dir = TemporaryDirectory()

    func open() throws -> (EventLog, FaultyFile, ManualClock) {
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        let (file, _) = try POSIXAppendFile.open(dir.file("data/events.jsonl"))
        let faulty = FaultyFile(file)
        let clock = ManualClock()
        let log = try EventLog(file: faulty, path: dir.file("data/events.jsonl"), dedupWindowSeconds: 86400, clock: clock,
            logger: .quiet)
        return (log, faulty, clock)
    }

    /// What a completion saw: the outcome and whether it ran on the loop's thread.
    final class Seen: Sendable {
        let outcome = Mutex<(EventLog.Outcome, onLoop: Bool)?>(nil)
        let done = Signal()
    }

    static func append(_ log: EventLog, _ clock: ManualClock, _ n: Int, loop: EventLoop?) -> Seen {
        let seen = Seen()
        let id = EventLogTests.id(n)
        let tail = EventRecord.tail(id: id, receivedAt: clock.now(), endpoint: "main", category: .orders, event: "order.created",
            created: 1, payload: JSONObject([.init(key: "n", value: .number(String(n)))]))
        // As intake does: on a loop, the loop writes the batch its round starts.
        log.append(id: id, category: .orders, receivedAt: clock.now(), tail: tail, writeAt: EventLoop.current) { outcome in
            seen.outcome.withLock { $0 = (outcome, loop.map { EventLoop.current === $0 } ?? false) }
            seen.done.notify()
        }
        return seen
    }

    static func wait(_ seen: Seen) throws -> (EventLog.Outcome, onLoop: Bool) {
        let deadline = monotonicSeconds() + 30
        while seen.outcome.withLock({ $0 }) == nil && monotonicSeconds() < deadline { seen.done.wait(seconds: 1) }
        return try #require(seen.outcome.withLock { $0 }, "no outcome within 30 s")
    }

    @Test func aRoundsAppendsAreOneBatchWrittenOnTheLoop() throws {
        let (log, faulty, clock) = try open()
        let loop = EventLoop()
        let seen = Mutex<[Seen]>([])
        loop.executeAndWait {
            #expect(EventLoop.current === loop)
            seen.withLock { s in s = (1...3).map { Self.append(log, clock, $0, loop: loop) } }
        }
        #expect(seen.withLock { $0.count } == 3)
        for (n, s) in seen.withLock({ $0 }).enumerated() {
            let (outcome, onLoop) = try Self.wait(s)
            #expect(outcome == .stored(seq: UInt64(n + 1)))
            #expect(onLoop, "the loop that appended writes and answers")
        }
        #expect(faulty.syncs.withLock { $0 } == 1, "three appends of one round, one sync")
        #expect(EventLoop.current == nil)
    }

    @Test func whatOthersAppendDuringTheLoopsSyncGoesOnOnTheWriterThread() throws {
        let (log, faulty, clock) = try open()
        let loop = EventLoop()
        let (entered, release) = (Signal(), Signal())
        faulty.faults.withLock {
            $0.duringNextSync = {
                entered.notify()
                release.wait(seconds: nil)
            }
        }
        let first = Mutex<Seen?>(nil)
        loop.execute { first.withLock { $0 = Self.append(log, clock, 1, loop: loop) } }
        entered.wait(seconds: nil)  // the loop is in its sync now
        let second = Self.append(log, clock, 2, loop: loop)
        release.notify()
        let (o1, onLoop1) = try Self.wait(try #require(first.withLock { $0 }))
        let (o2, onLoop2) = try Self.wait(second)
        #expect(o1 == .stored(seq: 1) && onLoop1)
        #expect(o2 == .stored(seq: 2) && !onLoop2, "written by the writer thread, not by a loop")
        #expect(faulty.syncs.withLock { $0 } == 2)
        #expect(FanoutTests.lines(dir.file("data/events.jsonl")).count == 2)
    }
}
