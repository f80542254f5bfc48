// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Delivery policy and window, on a manual clock")
struct DeliveryWindowTests {
    typealias Window = DeliveryWindow<Int>

    static let policy = RetryPolicy(maxAttempts: 3, initialSeconds: 10, maxSeconds: 100)

    @Test(arguments: [
        (DeliveryOutcome.delivered, 1, DeliveryDecision.delivered),
        (.skipped, 1, .skipped),
        (.permanent("HTTP 400"), 1, .deadLetter("HTTP 400")),
        // Back-off with random 0.5: 10 × (0.1 + 0.45) = 5.5 s after the first attempt, 11 s after the second.
        (.retry("HTTP 503", after: nil), 1, .retry(at: 1005.5, "HTTP 503")),
        (.retry("HTTP 503", after: nil), 2, .retry(at: 1011, "HTTP 503")),
        // Retry-After wins when longer, shorter does not shorten the back-off; a negative one is ignored.
        (.retry("HTTP 429", after: 7200), 1, .retry(at: 8200, "HTTP 429")),
        (.retry("HTTP 429", after: 1), 1, .retry(at: 1005.5, "HTTP 429")),
        (.retry("HTTP 429", after: -50), 1, .retry(at: 1005.5, "HTTP 429")),
        // At most a day, whatever the receiver asks.
        (.retry("HTTP 429", after: 1e9), 1, .retry(at: 1000 + 86400, "HTTP 429")),
        // Out of attempts.
        (.retry("HTTP 503", after: nil), 3, .deadLetter("HTTP 503")),
        (.retry("HTTP 503", after: 60), 3, .deadLetter("HTTP 503")),
    ])
    func decides(_ outcome: DeliveryOutcome, _ attempts: Int, _ expected: DeliveryDecision) {
        #expect(Self.policy.decide(outcome, attempts: attempts, now: 1000, random: 0.5) == expected)
    }

    /// Jitter comes from the system's random source (a getrandom call each): only a retry draws it.
    @Test func onlyARetryDrawsARandomNumber() {
        var w = Window(settings: .init(ordered: false, concurrency: 1, batchSize: 4), policy: Self.policy)
        for e in 1...4 { w.append(e, now: 0) }
        let (jobs, _) = w.takeDue(now: 0, stopping: true)
        var draws = 0
        let outcomes: [DeliveryOutcome] = [.delivered, .skipped, .permanent("HTTP 400"), .retry("HTTP 503", after: nil)]
        let completions = w.complete(jobs[0], outcomes: outcomes, now: 0) {
            draws += 1
            return 0.5
        }
        #expect(completions.count == 4)
        #expect(draws == 1)
    }

    /// Runs every due job with `outcome(event, attempt)`, returning what was handed out.
    static func drain(
        _ w: inout Window, now: Double, stopping: Bool = false, _ outcome: (Int) -> DeliveryOutcome = { _ in .delivered }
    ) -> (sent: [[Int]], completions: [Window.Completion], nextDue: Double?) {
        let (jobs, next) = w.takeDue(now: now, stopping: stopping)
        var completions: [Window.Completion] = []
        for job in jobs {
            completions += w.complete(job, outcomes: job.events.map(outcome), now: now, random: { 0.5 })
        }
        return (jobs.map(\.events), completions, next)
    }

    @Test func anOrderedWindowHoldsEverythingBehindAWaitingEvent() {
        var w = Window(settings: .init(ordered: true, concurrency: 1, batchSize: 1), policy: Self.policy)
        for e in 1...3 { w.append(e, now: 0) }
        var r = Self.drain(&w, now: 0) { $0 == 1 ? .retry("down", after: nil) : .delivered }
        #expect(r.sent == [[1]])
        guard case .retry(1, attempt: 1, at: 5.5, error: "down")? = r.completions.first else {
            Issue.record("expected a retry of event 1: \(r.completions)")
            return
        }
        #expect(w.dropFinished() == 1)
        r = Self.drain(&w, now: 5)
        #expect(r.sent.isEmpty)
        #expect(r.nextDue == 5.5)
        #expect(w.waiting.count == 1 && w.waiting.nextDue == 5.5)
        for now in [5.5, 5.5, 5.5] { _ = Self.drain(&w, now: now) }
        #expect(w.dropFinished() == nil)
        #expect(w.isEmpty)
    }

    @Test func anUnorderedWindowLetsLaterEventsPass() {
        var w = Window(settings: .init(ordered: false, concurrency: 4, batchSize: 1), policy: Self.policy)
        for e in 1...3 { w.append(e, now: 0) }
        let r = Self.drain(&w, now: 0) { $0 == 1 ? .retry("down", after: nil) : .delivered }
        #expect(r.sent == [[1], [2], [3]])
        // The cursor stays before the waiting event.
        #expect(w.dropFinished() == 1)
        #expect(w.count == 3)
        #expect(Self.drain(&w, now: 1).sent.isEmpty)
    }

    @Test func attemptsRunOutIntoADeadLetterAndAFailedWriteStartsOver() throws {
        var w = Window(settings: .init(ordered: true, concurrency: 1, batchSize: 1), policy: Self.policy)
        w.append(7, now: 0)
        var completions: [Window.Completion] = []
        for now in [0.0, 1000, 2000] {
            completions += Self.drain(&w, now: now) { _ in .retry("down", after: nil) }.completions
        }
        #expect(completions.count == 3)
        guard case .deadLetter(7, let ticket, attempts: 3, error: "down")? = completions.last else {
            Issue.record("expected a dead letter after 3 attempts: \(completions)")
            return
        }
        // The dead letter could not be written: the event comes back with fresh attempts.
        w.startOver(ticket: ticket, at: 5000)
        #expect(w.dropFinished() == 7)
        #expect(Self.drain(&w, now: 4999).sent.isEmpty)
        #expect(Self.drain(&w, now: 5000).sent == [[7]])
        #expect(w.dropFinished() == nil)
    }

    @Test func concurrencyBoundsTheJobsInFlight() {
        var w = Window(settings: .init(ordered: false, concurrency: 2, batchSize: 1), policy: Self.policy)
        for e in 1...5 { w.append(e, now: 0) }
        let (jobs, _) = w.takeDue(now: 0, stopping: false)
        #expect(jobs.map(\.events) == [[1], [2]])
        #expect(w.takeDue(now: 0, stopping: false).jobs.isEmpty)
        _ = w.complete(jobs[0], outcomes: [.delivered], now: 0, random: { 0 })
        #expect(w.takeDue(now: 0, stopping: false).jobs.map(\.events) == [[3]])
        #expect(w.inFlightJobs == 2)
    }

    @Test(arguments: [
        // (events, now, stopping, expected batches)
        (3, 0.001, false, [[Int]]()),  // fresh partial batch: waits to fill
        (3, 0.010, false, [[1, 2, 3]]),  // waited long enough
        (3, 0.001, true, [[1, 2, 3]]),  // stopping: no waiting
        (10, 0.001, false, [[1, 2, 3, 4]]),  // a full batch goes at once, the partial rest waits
    ])
    func batchesFillOrLinger(_ events: Int, _ now: Double, _ stopping: Bool, _ expected: [[Int]]) {
        var w = Window(settings: .init(ordered: true, concurrency: 1, batchSize: 4, linger: 0.005), policy: Self.policy)
        for e in 1...events { w.append(e, now: 0) }
        let (jobs, next) = w.takeDue(now: now, stopping: stopping)
        #expect(jobs.map(\.events) == expected)
        if expected.isEmpty { #expect(next == 0.005) }
    }

    @Test func aMissingOutcomeIsARetry() {
        var w = Window(settings: .init(ordered: true, concurrency: 1, batchSize: 2), policy: Self.policy)
        w.append(1, now: 0)
        w.append(2, now: 0)
        let (jobs, _) = w.takeDue(now: 1, stopping: false)
        let c = w.complete(jobs[0], outcomes: [.delivered], now: 1, random: { 0 })
        guard case .retry(2, attempt: 1, _, _)? = c.last else {
            Issue.record("expected event 2 to be retried: \(c)")
            return
        }
        #expect(w.dropFinished() == 2)
    }

    /// Thousands of events through a window that drops and compacts its prefix: tickets keep
    /// pointing at their events, and every event is delivered exactly once.
    @Test func ticketsSurviveCompaction() {
        var w = Window(settings: .init(ordered: false, concurrency: 6, batchSize: 1, capacity: 200), policy: Self.policy)
        var next = 0
        var failedOnce: Set<Int> = []
        var delivered: [Int] = []
        var done: Set<Int> = []
        var lowest = 0  // the smallest event not yet delivered
        var inFlight: [Window.Job] = []
        var now = 0.0
        while delivered.count < 5000 {
            while w.room > 0 {
                w.append(next, now: now)
                next += 1
            }
            // Half the jobs in flight finish each round, out of order; the others stay in
            // flight across the drop (and compaction) at the end of the round.
            let finishing = inFlight.prefix(3).reversed()
            inFlight.removeFirst(finishing.count)
            for job in finishing {
                // Every 7th event fails once.
                let outcomes = job.events.map { e in
                    e % 7 == 0 && failedOnce.insert(e).inserted ? DeliveryOutcome.retry("x", after: nil) : .delivered
                }
                let completions = w.complete(job, outcomes: outcomes, now: now, random: { 0 })
                #expect(completions.map(\.event) == job.events)
                for case .delivered(let e) in completions {
                    delivered.append(e)
                    done.insert(e)
                }
            }
            inFlight += w.takeDue(now: now, stopping: false).jobs
            while done.contains(lowest) { lowest += 1 }
            // The first unfinished event is the smallest one not yet delivered.
            let first = w.dropFinished()
            #expect(first == (lowest < next ? lowest : nil))
            if first != (lowest < next ? lowest : nil) { break }
            now += 1
        }
        #expect(Set(delivered).count == delivered.count)
    }
}

extension DeliveryWindow.Completion {
    var event: Event {
        switch self {
        case .delivered(let e), .skipped(let e), .retry(let e, _, _, _), .deadLetter(let e, _, _, _): e
        }
    }
}
