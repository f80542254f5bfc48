// SPDX-License-Identifier: MIT

/// The events a sink has read and not yet finished, in log order: which are due, which are
/// in flight, which wait for a retry, and where the finished prefix ends. Pure: the caller
/// passes its monotonic clock and random numbers, runs the jobs and reports their outcomes.
///
/// Ordered windows hand out nothing behind an event that waits for its retry; unordered ones
/// let later events pass it. Sinks that take batches get them filled up to `batchSize`, and
/// a partial batch of fresh events waits up to `linger` for more (not while stopping).
/// The sink runner and `replay` share it, so both follow the one ``RetryPolicy``.
public struct DeliveryWindow<Event> {
    public struct Settings: Sendable {
        public var ordered: Bool
        /// Jobs in flight at most.
        public var concurrency: Int
        public var batchSize: Int
        public var linger: Double
        public var capacity: Int

        public init(ordered: Bool, concurrency: Int, batchSize: Int, linger: Double = 0, capacity: Int = .max) {
            self.ordered = ordered
            self.concurrency = max(1, concurrency)
            self.batchSize = max(1, batchSize)
            self.linger = linger
            self.capacity = capacity
        }
    }

    /// Events handed out together; report their outcomes with ``complete(_:outcomes:now:random:)``.
    public struct Job {
        public let events: [Event]
        let tickets: [Int]
    }

    /// What an outcome came to, for the caller to count, log or write as a dead letter.
    public enum Completion {
        case delivered(Event)
        case skipped(Event)
        case retry(Event, attempt: Int, at: Double, error: String)
        /// Out of attempts or failed for good. If the dead letter cannot be written, hand
        /// `ticket` to ``startOver(ticket:at:)`` so the event is not lost.
        case deadLetter(Event, ticket: Int, attempts: Int, error: String)
    }

    struct Item {
        var event: Event
        var arrived: Double
        var attempts = 0
        var due = 0.0
        var inFlight = false
        var done = false
    }

    public let settings: Settings
    public let policy: RetryPolicy
    /// `items[head...]` are the window; earlier ones are finished and dropped lazily.
    private var items: [Item] = []
    private var head = 0
    /// The ticket of `items[0]`.
    private var base = 0
    public private(set) var inFlightJobs = 0

    public init(settings: Settings, policy: RetryPolicy) {
        self.settings = settings
        self.policy = policy
    }

    public var count: Int { items.count - head }
    public var room: Int { max(0, settings.capacity - count) }
    public var isEmpty: Bool { count == 0 }

    public mutating func append(_ event: Event, now: Double) {
        items.append(Item(event: event, arrived: now))
    }

    /// Marks the due events as in flight and returns them as jobs (at most `concurrency`
    /// in flight), and when the next waiting event is due (nil: none waits).
    public mutating func takeDue(now: Double, stopping: Bool) -> (jobs: [Job], nextDue: Double?) {
        var jobs: [Job] = []
        var nextDue: Double?
        var batch: [Int] = []
        for i in head..<items.count where !items[i].done && !items[i].inFlight {
            if items[i].due > now {
                nextDue = min(nextDue ?? .infinity, items[i].due)
                if settings.ordered { break }  // nothing overtakes a waiting event
                continue
            }
            guard inFlightJobs + jobs.count < settings.concurrency else { break }
            items[i].inFlight = true
            batch.append(i)
            if batch.count >= settings.batchSize {
                jobs.append(job(batch))
                batch = []
            }
        }
        if let first = batch.first, settings.batchSize > 1, !stopping, now - items[first].arrived < settings.linger {
            // A partial batch of fresh events: give it a moment to fill.
            for i in batch { items[i].inFlight = false }
            nextDue = min(nextDue ?? .infinity, items[first].arrived + settings.linger)
        } else if !batch.isEmpty {
            jobs.append(job(batch))
        }
        inFlightJobs += jobs.count
        return (jobs, nextDue)
    }

    private func job(_ indices: [Int]) -> Job {
        Job(events: indices.map { items[$0].event }, tickets: indices.map { base + $0 })
    }

    /// Applies a finished job's outcomes (one per event, in order; a missing one is a retry).
    public mutating func complete(_ job: Job, outcomes: [DeliveryOutcome], now: Double, random: () -> Double) -> [Completion] {
        inFlightJobs -= 1
        var result: [Completion] = []
        for (k, ticket) in job.tickets.enumerated() {
            let outcome = k < outcomes.count ? outcomes[k] : .retry("the sink gave no outcome for this event", after: nil)
            let i = ticket - base
            items[i].inFlight = false
            items[i].attempts += 1
            let event = items[i].event
            // Jitter is drawn for a retry only: the system's random source is a getrandom(2) call.
            let jitter: Double
            if case .retry = outcome { jitter = random() } else { jitter = 0 }
            switch policy.decide(outcome, attempts: items[i].attempts, now: now, random: jitter) {
            case .delivered:
                items[i].done = true
                result.append(.delivered(event))
            case .skipped:
                items[i].done = true
                result.append(.skipped(event))
            case .retry(let at, let why):
                items[i].due = at
                result.append(.retry(event, attempt: items[i].attempts, at: at, error: why))
            case .deadLetter(let why):
                items[i].done = true
                result.append(.deadLetter(event, ticket: ticket, attempts: items[i].attempts, error: why))
            }
        }
        return result
    }

    /// Puts a dead-lettered event back with fresh attempts, due at `at`: its dead letter
    /// could not be written, and the event must not be lost.
    public mutating func startOver(ticket: Int, at: Double) {
        let i = ticket - base
        guard i >= head, i < items.count else { return }
        (items[i].done, items[i].attempts, items[i].due) = (false, 0, at)
    }

    /// Drops the finished prefix and returns the first unfinished event (nil: all finished).
    /// The cursor may move up to just before it.
    public mutating func dropFinished() -> Event? {
        while head < items.count && items[head].done { head += 1 }
        if head > 64 && head * 2 >= items.count {
            items.removeFirst(head)
            base += head
            head = 0
        }
        return head < items.count ? items[head].event : nil
    }

    /// Events waiting for a retry, and when the first of them is due.
    public var waiting: (count: Int, nextDue: Double?) {
        var count = 0
        var next: Double?
        for item in items[head...] where !item.done && !item.inFlight && item.attempts > 0 {
            count += 1
            next = min(next ?? .infinity, item.due)
        }
        return (count, next)
    }
}

extension DeliveryWindow.Job: Sendable where Event: Sendable {}
extension DeliveryWindow.Completion: Sendable where Event: Sendable {}

extension DeliveryWindow: Sendable where Event: Sendable {}
extension DeliveryWindow.Job: Sendable where Event: Sendable {}
extension DeliveryWindow.Item: Sendable where Event: Sendable {}
extension DeliveryWindow.Completion: Sendable where Event: Sendable {}
