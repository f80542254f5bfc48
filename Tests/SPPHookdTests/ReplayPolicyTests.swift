// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Synchronization
import Testing

/// `replay` and `dead-letters retry` follow the runner's ``RetryPolicy`` through the same
/// ``DeliveryWindow``, on an injected clock: no real waiting.
@Suite("Replay's retries follow the sink's policy")
struct ReplayPolicyTests {
    /// A sink that answers each event's attempts from a script (then delivers).
    final class ScriptedSink: EventSink, Sendable {
        let name = "scripted"
        let script: [UInt64: [DeliveryOutcome]]
        let attempts = Mutex<[UInt64: Int]>([:])
        let order = Mutex<[UInt64]>([])
        init(_ script: [UInt64: [DeliveryOutcome]]) { self.script = script }

        func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
            events.map { e in
                order.withLock { $0.append(e.seq) }
                let n = attempts.withLock { a in
                    a[e.seq, default: 0] += 1
                    return a[e.seq]!
                }
                let answers = script[e.seq] ?? []
                return n <= answers.count ? answers[n - 1] : .delivered
            }
        }
    }

    static func event(_ seq: UInt64) -> LoggedEvent {
        let line = Array(
            #"{"seq":\#(seq),"id":"id-\#(seq)","receivedAt":"2026-12-02T06:00:00.000Z","endpoint":"spp","category":"orders","event":"order.created","created":0,"data":{}}"#
                .utf8)
        return LoggedEvent(line: line, start: 0, end: Int64(line.count), head: EventLogLine(line[...])!)
    }

    struct Run {
        var report: Replay.Report
        var waits: [Double]
        var attempts: [UInt64: Int]
        var order: [UInt64]
        var deadLetters: String
    }

    static func run(_ script: [UInt64: [DeliveryOutcome]], events: Int = 1, retry: RetryPolicy, ordered: Bool = true) -> Run {
        let dir = TemporaryDirectory()
        let sink = ScriptedSink(script)
        let config = SinkConfig(name: "scripted", kind: .file(path: dir.file("out"), mode: 0o600), retry: retry, ordered: ordered)
        let now = Mutex(100.0)
        let waits = Mutex<[Double]>([])
        let replay = Replay(
            config: config, sink: sink, dataDir: dir.path, clock: ManualClock(), monotonic: { now.withLock { $0 } }, random: { 0 },
            wait: { seconds in
                waits.withLock { $0.append(seconds) }
                now.withLock { $0 += seconds }
            }, progress: { _ in })
        let report = replay.deliver((1...UInt64(events)).map(event))
        return Run(report: report, waits: waits.withLock { $0 }, attempts: sink.attempts.withLock { $0 }, order: sink.order.withLock { $0 },
            deadLetters: dir.read("dead-letters/scripted.jsonl"))
    }

    /// Replay used to cap a receiver's Retry-After at an hour where the runner honours a day.
    @Test func aLongRetryAfterIsHonouredUpToADay() {
        let r = Self.run([1: [.retry("HTTP 429", after: 7200), .retry("HTTP 429", after: 200_000)]], retry: RetryPolicy(maxAttempts: 5))
        #expect(r.report.delivered == 1)
        #expect(r.waits == [7200, RetryPolicy.maxRetryAfterSeconds])
    }

    @Test func backOffGrowsAndRunsOutIntoADeadLetter() {
        let down = DeliveryOutcome.retry("HTTP 503", after: nil)
        let r = Self.run([1: Array(repeating: down, count: 10)], retry: RetryPolicy(maxAttempts: 4, initialSeconds: 2, maxSeconds: 5))
        // random 0: a tenth of 2, 4, 5 (capped) seconds.
        #expect(r.waits.map { ($0 * 100).rounded() / 100 } == [0.2, 0.4, 0.5])
        #expect(r.attempts[1] == 4)
        #expect(r.report.failed == 1 && r.report.delivered == 0)
        #expect(r.deadLetters.contains("\"attempts\":4") && r.deadLetters.contains("HTTP 503"))
    }

    /// An unordered sink delivers the others while one waits; an ordered one holds them.
    @Test(arguments: [true, false])
    func orderDecidesWhetherOthersWait(_ ordered: Bool) {
        let r = Self.run([1: [.retry("busy", after: 30)]], events: 3, retry: RetryPolicy(), ordered: ordered)
        #expect(r.report.delivered == 3)
        #expect(r.waits == [30])
        #expect(r.attempts == [1: 2, 2: 1, 3: 1])
        #expect(r.order == (ordered ? [1, 1, 2, 3] : [1, 2, 3, 1]))
    }

    /// A sink whose deliveries wait (once, up to 10 s) until `expected` of them run at once.
    final class GatheringSink: EventSink, Sendable {
        let name = "gathering"
        let expected: Int
        let running = Mutex(0)
        let peak = Mutex(0)
        /// Set once a wait ran out: the others do not wait again.
        let gaveUp = Mutex(false)
        init(expected: Int) { self.expected = expected }

        func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
            let now = running.withLock { r in
                r += 1
                return r
            }
            peak.withLock { $0 = max($0, now) }
            if !gaveUp.withLock({ $0 }) {
                do { try waitFor(10) { peak.withLock { $0 } >= expected } } catch { gaveUp.withLock { $0 = true } }
            }
            running.withLock { $0 -= 1 }
            return events.map { _ in .delivered }
        }
    }

    /// Replay used to deliver one event at a time whatever the sink's `concurrency`: a
    /// forward replay ran at one round trip per event.
    @Test(arguments: [true, false])
    func replayRunsAsManyDeliveriesAtOnceAsTheSinksConcurrency(_ ordered: Bool) {
        let dir = TemporaryDirectory()
        let sink = GatheringSink(expected: 4)
        let config = SinkConfig(name: "gathering", kind: .shell(command: ["true"], timeoutSeconds: 5, concurrency: 4), retry: RetryPolicy(),
            ordered: ordered)
        let replay = Replay(config: config, sink: sink, dataDir: dir.path, progress: { _ in })
        let report = replay.deliver((1...40).map(Self.event))
        #expect(report.delivered == 40)
        #expect(sink.peak.withLock { $0 } == 4)
    }
}
