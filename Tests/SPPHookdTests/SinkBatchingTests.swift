// SPDX-License-Identifier: MIT
import Dispatch
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Synchronization
import Testing

/// The delivery side's throughput mechanics: long-lived delivery threads, batches that
/// fill for a moment, and cursors written at once but synced at intervals.
@Suite("Sink batching and delivery threads")
struct SinkBatchingTests {
    @Test func deliveryThreadsRunAtMostTheirCountAtOnceAndFinishQueuedJobsOnStop() throws {
        let workers = DeliveryWorkers(count: 3, name: "send:batchtest")
        let counts = Mutex((running: 0, peak: 0, done: 0))
        let release = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        for _ in 0..<9 {
            workers.submit {
                counts.withLock { c in
                    c.running += 1
                    c.peak = max(c.peak, c.running)
                }
                release.wait()  // blocks until the test lets it go: no timing involved
                counts.withLock { c in
                    c.running -= 1
                    c.done += 1
                }
                finished.signal()
            }
        }
        // Three jobs run at once; the six others wait for a thread.
        try waitFor(20) { counts.withLock { $0.running } == 3 }
        workers.stop()  // queued jobs still run
        for _ in 0..<9 { release.signal() }
        for _ in 0..<9 { #expect(finished.wait(timeout: .now() + 20) == .success) }
        let c = counts.withLock { $0 }
        #expect(c.done == 9)
        #expect(c.peak == 3, "three threads, so never more than three jobs at once")
        workers.join()
        #expect(threads(named: "send:batchtest").isEmpty)
    }

    /// A sink that records the size of every batch it is handed.
    final class RecordingSink: EventSink, @unchecked Sendable {
        let name = "rec"
        let batches = Mutex<[[UInt64]]>([])
        var batchSize: Int { 512 }

        func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
            batches.withLock { $0.append(events.map(\.seq)) }
            return events.map { _ in .delivered }
        }
    }

    /// Events a millisecond apart (each its own group commit on a fast disk) still reach a
    /// file-like sink in batches: it lets a partial batch fill for its linger. The test's
    /// linger (200 ms, the daemon's is ``SinkRunner/batchLinger``) is long enough that a
    /// loaded machine stretching the pacing only stretches the bound with it.
    @Test func tricklingEventsReachABatchSinkInBatchesInOrder() throws {
        let linger = 0.2
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        let log = try EventLog(directory: dir.file("data"), dedupWindowSeconds: 3600, clock: clock, logger: .quiet)
        let sink = RecordingSink()
        let runner = try SinkRunner(
            config: SinkConfig(name: "rec", kind: .file(path: dir.file("unused"), mode: 0o600)), sink: ProgramSink(passThrough: sink), log: log,
            dataDir: dir.file("data"), clock: clock, batchLinger: linger, logger: .quiet)
        runner.start()
        let acknowledged = DispatchSemaphore(value: 0)
        let started = monotonicSeconds()
        for n in 1...200 {
            usleep(1000)
            let id = EventLogTests.id(n)
            let tail = EventRecord.tail(id: id, receivedAt: clock.now(), endpoint: "main", category: .orders, event: "order.created",
                created: 1, payload: JSONObject([.init(key: "n", value: .number(String(n)))]))
            log.append(id: id, category: .orders, receivedAt: clock.now(), tail: tail) { _ in acknowledged.signal() }
        }
        for _ in 1...200 { acknowledged.wait() }
        try waitFor { sink.batches.withLock { $0.joined().count } == 200 }
        let elapsed = monotonicSeconds() - started
        let batches = sink.batches.withLock { $0 }
        #expect(Array(batches.joined()) == Array(1...200), "every event once, in log order")
        // A batch waits a linger for more (one may linger while the one before is written):
        // at most two per linger of the whole run. Without it, one per group commit (~200).
        #expect(batches.count <= 2 * (Int(elapsed / linger) + 1), "\(batches.count) batches in \(elapsed) s: \(batches.map(\.count))")
        // The cursor is on disk at once (written; synced within the interval).
        try waitFor { runner.cursorOffset == log.durableEnd }
        #expect(SinkRunner.savedCursor(dataDir: dir.file("data"), sink: "rec")?.seq == 200)
        runner.beginStopping()
        runner.waitUntilStopped(timeout: 5)
    }

    /// A sink that answers for fewer events than it was given must not leave the rest in
    /// flight for ever: they are retried.
    @Test func aShortAnswerFromASinkBecomesRetries() {
        let outcomes = ProgramSink.oneEach([.delivered], 3)
        #expect(outcomes.count == 3 && outcomes[0] == .delivered)
        #expect(outcomes[1...].allSatisfy { if case .retry(let why, _) = $0 { why.contains("1 outcome(s) for 3") } else { false } })
        #expect(ProgramSink.oneEach([.delivered, .skipped], 1) == [.delivered])
    }
}
