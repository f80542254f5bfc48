// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
import Synchronization

/// Delivers the event log to one sink, at least once, from its own cursor.
///
/// A coordinator thread keeps a window of matching events after the cursor, hands due
/// ones to at most `concurrency` delivery threads (file sinks take them in batches),
/// retries failures with jittered back-off, dead-letters what runs out of attempts, and
/// moves the cursor over the finished prefix of the window. Ordered sinks have a window
/// of `concurrency` events, so a failing event holds everything behind it; unordered
/// sinks let later events pass while it waits. A sink never blocks intake or other sinks.
public final class SinkRunner: Sendable {
    struct Item {
        var event: LoggedEvent
        /// When the runner read it (monotonic): batches wait at most ``batchLinger`` to fill.
        var arrived = monotonicSeconds()
        var attempts = 0
        var due: Double = 0
        var inFlight = false
        var done = false
    }

    struct State {
        var window: [Item] = []
        var completions: [(seq: UInt64, outcome: DeliveryOutcome)] = []
        var inFlight = 0
        var stopping = false
        var failing = false
        var lastError: String?
        var lastErrorAt: Timestamp?
        var lastSuccessAt: Timestamp?
        var delivered = 0
        var skipped = 0
        var retried = 0
        var deadLettered = 0
        /// The cursor as last saved.
        var cursor = CursorStore.Position(seq: 0, offset: 0)
    }

    public let config: SinkConfig
    let sink: any EventSink
    /// The sink behind its jq programs (a reload replaces the programs).
    let programSink: ProgramSink
    let log: EventLog
    let cursor: CursorStore
    let deadLetters: DeadLetters
    let clock: any WallClock
    let logger: Logger
    let metrics: DaemonMetrics?
    let signal = Signal()
    let state = Mutex(State())
    let stopped = Signal()
    private let startPosition: CursorStore.Position
    /// The saved cursor's seq when it was ahead of the log at start-up (the log then
    /// continues its seqs above it); nil when it was consistent.
    public let aheadOfLog: UInt64?
    private let startWarning: String?

    /// Loads (or creates, at the log's end) the cursor. Creating it before intake starts
    /// means no event acknowledged after this point can be missed.
    public init(
        config: SinkConfig, sink: ProgramSink, log: EventLog, dataDir: String, clock: any WallClock, metrics: DaemonMetrics? = nil,
        logger: Logger
    ) throws(IOError) {
        self.config = config
        self.metrics = metrics
        self.sink = sink
        self.programSink = sink
        self.log = log
        self.cursor = CursorStore(dataDir: dataDir, sink: config.name)
        self.deadLetters = DeadLetters(dataDir: dataDir, sink: config.name)
        self.clock = clock
        var l = logger
        l[metadataKey: "sink"] = "\(config.name)"
        self.logger = l
        let registry = SinkRegistry(dataDir: dataDir)
        let saved = cursor.load()
        // Where a sink that cannot trust its cursor starts again: the oldest event still in
        // the log (receivers drop the duplicates by id; nothing is skipped).
        let fromOldest = { CursorStore.Position(seq: 0, offset: log.directory.oldestOffset()) }
        var problem: (message: String, detail: String)?
        if let p = saved, p.seq > log.lastSeq || p.offset > log.durableEnd {
            // The log lost history this sink had read (it was cut, replaced or deleted). The
            // log continues its seqs above this cursor, so nothing new is skipped either.
            (startPosition, aheadOfLog) = (fromOldest(), p.seq)
            problem = ("sink cursor ahead of the event log",
                "cursor (seq \(p.seq), offset \(p.offset)) was ahead of the event log (last seq \(log.lastSeq), end \(log.durableEnd)); "
                    + "redelivering everything still in the log, new events continue after seq \(max(p.seq, log.lastSeq))")
        } else if let p = saved {
            (startPosition, aheadOfLog) = (p, nil)
        } else if registry.contains(config.name) {
            // It had a cursor: it lost it.
            (startPosition, aheadOfLog) = (fromOldest(), nil)
            problem = ("sink cursor missing for a known sink; redelivering the log",
                "its cursor file was missing; redelivering everything still in the log")
        } else {
            (startPosition, aheadOfLog) = (CursorStore.Position(seq: log.lastSeq, offset: log.durableEnd), nil)
            l.notice("new sink starts after the current end of the log; use replay for earlier events",
                metadata: ["seq": "\(startPosition.seq)"])
        }
        startWarning = problem?.detail
        if startPosition != saved { try cursor.reset(startPosition) }
        if let problem { l.error("\(problem.message)", metadata: ["detail": "\(problem.detail)"]) }
        try registry.add(config.name)
        state.withLock { $0.cursor = startPosition }
        log.subscribe(signal)
    }

    /// What `status`, `/metrics` and `STATUS=` show about the sink; the cursor as last saved.
    public var status: StatusSnapshot.Sink {
        let now = monotonicSeconds()
        return state.withLock { s in
            let waiting = s.window.filter { !$0.done && !$0.inFlight && $0.attempts > 0 }
            var x = StatusSnapshot.Sink(name: config.name)
            (x.cursorSeq, x.delivered, x.retried, x.deadLettered) = (s.cursor.seq, s.delivered, s.retried, s.deadLettered)
            x.skipped = s.skipped
            (x.retrying, x.failing) = (waiting.count, s.failing)
            x.nextRetryInSeconds = waiting.map(\.due).min().map { max(0, $0 - now) }
            (x.lastSuccessAt, x.lastErrorAt, x.lastError) = (s.lastSuccessAt, s.lastErrorAt, s.lastError)
            x.warning = startWarning
            return x
        }
    }

    /// The saved cursor's log position (retention keeps the segment holding it).
    public var cursorOffset: Int64 { state.withLock { $0.cursor.offset } }

    public func start() {
        POSIXThread.detach { [self] in coordinate() }
    }

    /// Stops taking new work; the runner saves its cursor once deliveries in flight finish.
    public func beginStopping() {
        state.withLock { $0.stopping = true }
        signal.notify()
    }

    /// Waits up to `timeout` for the runner to finish stopping.
    public func waitUntilStopped(timeout: Double) {
        stopped.wait(seconds: timeout)
    }

    private var windowCapacity: Int {
        config.ordered ? max(config.concurrency, sink.batchSize) : max(256, config.concurrency * 16)
    }

    /// How often, at most, a moving cursor is fdatasync'ed. Every move is written at once
    /// (a crash of the process loses nothing); a power loss can only take the cursor back
    /// to an older position, so at most this much is delivered again (at least once).
    static let cursorSyncInterval = 0.5

    /// How long a sink that takes batches (files) lets a partial batch wait for more
    /// events: under load one write and one fdatasync then serve many events.
    static let batchLinger = 0.005

    private func coordinate() {
        var reader = LogReader(source: log, offset: startPosition.offset, skipThrough: startPosition.seq)
        var saved = SavedCursor(position: startPosition)
        var scanned: CursorStore.Position?  // where the reader has passed, once it has read
        var skipped: Int64 = 0
        let workers = DeliveryWorkers(count: config.concurrency)
        defer {
            reader.close()
            workers.stop()
        }
        while true {
            let (stopping, inFlight) = state.withLock { ($0.stopping, $0.inFlight) }
            if stopping && inFlight == 0 {
                persist(scanned: scanned, saved: &saved, syncNow: true)
                stopped.notify()
                return
            }
            applyCompletions()
            persist(scanned: scanned, saved: &saved)  // drops the finished prefix: room to refill
            let readOK = stopping ? true : refill(&reader, scanned: &scanned, skippedBytes: &skipped)
            persist(scanned: scanned, saved: &saved)
            var wait = stopping ? 0.05 : launchDue(on: workers)
            if let due = saved.syncDue { wait = min(wait ?? .infinity, max(0.001, due - monotonicSeconds())) }
            // Unread durable events and room for them: go round again instead of sleeping
            // (the wake-up for them may already have been consumed).
            let room = state.withLock { $0.window.count } < windowCapacity
            if readOK && !stopping && room && reader.hasMore(before: log.durableEnd) { continue }
            if !readOK { wait = min(wait ?? 1, 1) }  // a log we cannot read: look again in a second
            signal.wait(seconds: wait)
        }
    }

    /// Adds events after the window to it, up to its capacity. False when the log could not be read.
    private func refill(_ reader: inout LogReader, scanned: inout CursorStore.Position?, skippedBytes: inout Int64) -> Bool {
        let room = windowCapacity - state.withLock { $0.window.count }
        guard room > 0 else { return true }
        var ok = true
        let limit = log.durableEnd
        var added: [Item] = []
        do {
            // Non-matching events are passed over too, so the cursor moves past them.
            while added.count < room, let e = try reader.peek(upTo: limit) {
                reader.pop()
                if config.filter.matches(category: e.category, event: e.head.event) { added.append(Item(event: e)) }
            }
        } catch {
            logger.error("cannot read the event log", metadata: ["error": "\(error)"])
            ok = false
        }
        state.withLock { $0.window += added }
        scanned = reader.consumed
        if reader.skippedBytes > skippedBytes {
            logger.error("part of the log this sink had not read was deleted (retention); skipped it",
                metadata: ["bytes": "\(reader.skippedBytes - skippedBytes)"])
            skippedBytes = reader.skippedBytes
        }
        return ok
    }

    /// Hands due events to delivery threads. Returns how long to sleep until the next one is due.
    private func launchDue(on workers: DeliveryWorkers) -> Double? {
        let now = monotonicSeconds()
        var jobs: [[LoggedEvent]] = []
        var nextDue: Double?
        state.withLock { s in
            var batch: [LoggedEvent] = []
            var batchIndices: [Int] = []
            for i in s.window.indices where !s.window[i].done && !s.window[i].inFlight {
                if s.window[i].due > now {
                    nextDue = min(nextDue ?? .infinity, s.window[i].due)
                    if config.ordered { break }  // nothing overtakes a waiting event
                    continue
                }
                guard s.inFlight + jobs.count < config.concurrency else { break }
                s.window[i].inFlight = true
                batch.append(s.window[i].event)
                batchIndices.append(i)
                if batch.count >= sink.batchSize {
                    jobs.append(batch)
                    (batch, batchIndices) = ([], [])
                }
            }
            if let first = batchIndices.first, sink.batchSize > 1, !s.stopping, now - s.window[first].arrived < Self.batchLinger {
                // A partial batch of fresh events: give it a moment to fill.
                for i in batchIndices { s.window[i].inFlight = false }
                nextDue = min(nextDue ?? .infinity, s.window[first].arrived + Self.batchLinger)
            } else if !batch.isEmpty {
                jobs.append(batch)
            }
            s.inFlight += jobs.count
        }
        for job in jobs {
            workers.submit { [self] in
                let outcomes = sink.deliver(job)
                state.withLock { s in
                    for (e, o) in zip(job, outcomes) { s.completions.append((e.seq, o)) }
                    s.inFlight -= 1
                }
                signal.notify()
            }
        }
        return nextDue.map { max(0.001, $0 - now) }
    }

    private func applyCompletions() {
        let now = monotonicSeconds()
        var toDeadLetter: [(LoggedEvent, Int, String)] = []
        state.withLock { s in
            let completions = s.completions
            s.completions = []
            for (seq, outcome) in completions {
                guard let i = s.window.firstIndex(where: { $0.event.seq == seq }) else { continue }
                s.window[i].inFlight = false
                s.window[i].attempts += 1
                switch outcome {
                case .delivered:
                    s.window[i].done = true
                    s.delivered += 1
                    s.failing = false
                    s.lastSuccessAt = clock.now()
                    metrics?.delivered(sink: config.name)
                case .retry(let why, let after):
                    s.lastError = why
                    s.lastErrorAt = clock.now()
                    s.failing = true
                    if s.window[i].attempts >= config.retry.maxAttempts {
                        s.window[i].done = true
                        toDeadLetter.append((s.window[i].event, s.window[i].attempts, why))
                    } else {
                        let backoff = config.retry.delay(afterAttempt: s.window[i].attempts, random: Double.random(in: 0..<1))
                        // The receiver's Retry-After wins over the policy (bounded at a day).
                        s.window[i].due = now + max(backoff, min(after ?? 0, 86400))
                        s.retried += 1
                        metrics?.retried(sink: config.name)
                        logger.warning("delivery failed; will retry", metadata: [
                            "seq": "\(seq)", "attempt": "\(s.window[i].attempts)", "error": "\(why)",
                            "retryInSeconds": "\(Int((s.window[i].due - now).rounded(.up)))",
                        ])
                    }
                case .skipped:
                    s.window[i].done = true
                    s.skipped += 1
                    metrics?.skipped(sink: config.name)
                case .permanent(let why):
                    s.lastError = why
                    s.lastErrorAt = clock.now()
                    s.window[i].done = true
                    toDeadLetter.append((s.window[i].event, s.window[i].attempts, why))
                }
            }
        }
        for (event, attempts, why) in toDeadLetter {
            do {
                try deadLetters.append(sink: config.name, event: event, attempts: attempts, error: why, at: clock.now())
                state.withLock { $0.deadLettered += 1 }
                metrics?.failed(sink: config.name)
                logger.error("dead-lettered after \(attempts) attempt(s)", metadata: ["seq": "\(event.seq)", "error": "\(why)"])
            } catch {
                // Cannot record it: keep the event in the window and try the whole thing again later.
                logger.critical("cannot write a dead letter; will retry the event", metadata: ["error": "\(error)"])
                state.withLock { s in
                    if let i = s.window.firstIndex(where: { $0.event.seq == event.seq }) {
                        s.window[i].done = false
                        s.window[i].attempts = 0
                        s.window[i].due = now + config.retry.maxSeconds
                    }
                }
            }
        }
    }

    /// The cursor as last written, and when it must next reach the disk.
    struct SavedCursor {
        var position: CursorStore.Position
        var lastSync = monotonicSeconds()
        /// Set while a written position waits for its fdatasync.
        var syncDue: Double?
    }

    /// Moves the cursor over the finished prefix of the window and writes it when it moved;
    /// syncs it when a sync is due (or `syncNow`).
    private func persist(scanned: CursorStore.Position?, saved: inout SavedCursor, syncNow: Bool = false) {
        defer {
            if let due = saved.syncDue, syncNow || monotonicSeconds() >= due {
                do {
                    try cursor.sync()
                    (saved.syncDue, saved.lastSync) = (nil, monotonicSeconds())
                } catch {
                    logger.error("cannot save the sink cursor", metadata: ["error": "\(error)"])
                }
            }
        }
        let position: CursorStore.Position? = state.withLock { s in
            var k = 0
            while k < s.window.count && s.window[k].done { k += 1 }
            s.window.removeFirst(k)
            if let first = s.window.first {
                return CursorStore.Position(seq: first.event.seq - 1, offset: first.event.start)
            }
            return scanned
        }
        guard let position, position != saved.position, position.seq >= saved.position.seq else { return }
        do {
            try cursor.save(position)
            saved.position = position
            if saved.syncDue == nil { saved.syncDue = saved.lastSync + Self.cursorSyncInterval }
            state.withLock { $0.cursor = position }
        } catch {
            logger.error("cannot save the sink cursor", metadata: ["error": "\(error)"])
        }
    }
}
