// SPDX-License-Identifier: MIT
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// One sink's deliveries, shared by the sink runner and `replay`: the ``DeliveryWindow``
/// (order, batches, retries by the sink's ``RetryPolicy``), the threads that run its jobs,
/// and its dead letters. The caller adds events, launches what is due and settles what
/// finished; it decides what to count, log or show, and what to do with an event whose
/// dead letter could not be written.
final class DeliveryDriver: Sendable {
    /// What became of an event once its job finished.
    enum Settled {
        case delivered(LoggedEvent)
        /// Passed over by the sink's `where` (or an empty `transform`).
        case skipped(LoggedEvent)
        case retry(LoggedEvent, attempt: Int, inSeconds: Double, error: String)
        case deadLettered(LoggedEvent, attempts: Int, error: String)
        /// Out of attempts, but its dead letter could not be written (`cause`): the event is
        /// finished unless the caller hands `ticket` to ``startOver(ticket:at:)``.
        case unrecorded(LoggedEvent, ticket: Int, attempts: Int, error: String, cause: IOError)
    }

    private typealias Job = DeliveryWindow<LoggedEvent>.Job

    private struct State {
        var window: DeliveryWindow<LoggedEvent>
        var finished: [(job: Job, outcomes: [DeliveryOutcome])] = []
        /// Started by the first launch (nil with no threads: jobs run on the caller's thread).
        var workers: DeliveryWorkers?
    }

    let sinkName: String
    private let sink: any EventSink
    private let deadLetters: DeadLetters
    private let threads: Int
    private let state: Mutex<State>
    /// Notified when a job finishes on a delivery thread.
    let wake: Signal
    private let clock: any WallClock
    private let monotonic: @Sendable () -> Double
    private let random: @Sendable () -> Double

    /// - Parameter threads: delivery threads (started by the first launch); 0 runs each job
    ///   on the thread that launches it.
    init(
        sinkName: String, sink: any EventSink, window: DeliveryWindow<LoggedEvent>, deadLetters: DeadLetters, threads: Int,
        wake: Signal = Signal(), clock: any WallClock, monotonic: @escaping @Sendable () -> Double,
        random: @escaping @Sendable () -> Double
    ) {
        (self.sinkName, self.sink, self.deadLetters, self.threads, self.wake) = (sinkName, sink, deadLetters, threads, wake)
        (self.clock, self.monotonic, self.random) = (clock, monotonic, random)
        state = Mutex(State(window: window))
    }

    /// Events the window can take now.
    var room: Int { state.withLock { $0.window.room } }
    var inFlightJobs: Int { state.withLock { $0.window.inFlightJobs } }
    /// Events waiting for a retry, and when the next is due (monotonic seconds).
    var waiting: (count: Int, nextDue: Double?) { state.withLock { $0.window.waiting } }

    func append(_ events: [LoggedEvent]) {
        let now = monotonic()
        state.withLock { s in
            for e in events { s.window.append(e, now: now) }
        }
    }

    /// Starts the jobs due now (`stopping`: no batch waits to fill). Returns when the next
    /// waiting one is due (monotonic seconds), if any is.
    func launchDue(stopping: Bool) -> Double? {
        let now = monotonic()
        let (jobs, nextDue, workers) = state.withLock { s in
            let (jobs, nextDue) = s.window.takeDue(now: now, stopping: stopping)
            if !jobs.isEmpty && threads > 0 && s.workers == nil { s.workers = DeliveryWorkers(count: threads, name: "send:" + sinkName) }
            return (jobs, nextDue, s.workers)
        }
        for job in jobs {
            guard let workers else {
                run(job)
                continue
            }
            workers.submit { [self] in
                run(job)
                wake.notify()
            }
        }
        return nextDue
    }

    private func run(_ job: Job) {
        let outcomes = sink.deliver(job.events)
        state.withLock { $0.finished.append((job, outcomes)) }
    }

    /// Applies the outcomes of the jobs finished so far (``RetryPolicy/decide``) and writes
    /// the dead letters. `waiting`: with a job in flight and none finished, waits for one.
    func settle(waiting: Bool = false) -> [Settled] {
        while true {
            let now = monotonic()
            let (completions, pending) = state.withLock { s -> ([DeliveryWindow<LoggedEvent>.Completion], Bool) in
                let finished = s.finished
                s.finished = []
                let completions = finished.flatMap { s.window.complete($0.job, outcomes: $0.outcomes, now: now, random: random) }
                return (completions, finished.isEmpty && s.window.inFlightJobs > 0)
            }
            if waiting && pending {
                wake.wait(seconds: nil)
                continue
            }
            return completions.map { settled($0, now: now) }
        }
    }

    private func settled(_ completion: DeliveryWindow<LoggedEvent>.Completion, now: Double) -> Settled {
        switch completion {
        case .delivered(let e): return .delivered(e)
        case .skipped(let e): return .skipped(e)
        case .retry(let e, let attempt, let at, let why): return .retry(e, attempt: attempt, inSeconds: at - now, error: why)
        case .deadLetter(let e, let ticket, let attempts, let why):
            do {
                try deadLetters.append(sink: sinkName, event: e, attempts: attempts, error: why, at: clock.now())
                return .deadLettered(e, attempts: attempts, error: why)
            } catch {
                return .unrecorded(e, ticket: ticket, attempts: attempts, error: why, cause: error)
            }
        }
    }

    /// Puts back an event whose dead letter could not be written, with fresh attempts, due
    /// at `at` (monotonic seconds).
    func startOver(ticket: Int, at: Double) {
        state.withLock { $0.window.startOver(ticket: ticket, at: at) }
    }

    /// Drops the finished prefix; returns the first unfinished event (nil: all finished).
    func dropFinished() -> LoggedEvent? {
        state.withLock { $0.window.dropFinished() }
    }

    /// Lets queued jobs finish and ends the delivery threads.
    func stop() {
        guard let workers = state.withLock({ $0.workers }) else { return }
        workers.stop()
        workers.join()
    }
}
