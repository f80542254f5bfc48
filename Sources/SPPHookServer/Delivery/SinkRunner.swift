// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX
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
    struct State {
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
    /// The monotonic clock and the jitter source of retries (injected by tests).
    let monotonic: @Sendable () -> Double
    let random: @Sendable () -> Double
    let logger: Logger
    let metrics: DaemonMetrics?
    let signal = Signal()
    let state = Mutex(State())
    /// The window, the delivery threads and the dead letters (``DeliveryDriver``).
    let driver: DeliveryDriver
    private let thread = Mutex<JoinableThread?>(nil)
    private let startPosition: CursorStore.Position
    /// The saved cursor's seq when it was ahead of the log at start-up (the log then
    /// continues its seqs above it); nil when it was consistent.
    public let aheadOfLog: UInt64?
    private let startWarning: String?

    /// Loads (or creates, at the log's end) the cursor. Creating it before intake starts
    /// means no event acknowledged after this point can be missed.
    public init(
        config: SinkConfig, sink: ProgramSink, log: EventLog, dataDir: String, clock: any WallClock, metrics: DaemonMetrics? = nil,
        monotonic: @escaping @Sendable () -> Double = monotonicSeconds, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        batchLinger: Double = SinkRunner.batchLinger, logger: Logger
    ) throws(IOError) {
        self.config = config
        self.metrics = metrics
        self.sink = sink
        self.programSink = sink
        self.log = log
        self.cursor = CursorStore(dataDir: dataDir, sink: config.name)
        self.deadLetters = DeadLetters(dataDir: dataDir, sink: config.name)
        self.clock = clock
        (self.monotonic, self.random) = (monotonic, random)
        let capacity = config.ordered ? max(config.concurrency, sink.batchSize) : max(256, config.concurrency * 16)
        let settings = DeliveryWindow<LoggedEvent>.Settings(ordered: config.ordered, concurrency: config.concurrency,
            batchSize: sink.batchSize, linger: batchLinger, capacity: capacity)
        self.driver = DeliveryDriver(sinkName: config.name, sink: sink, window: DeliveryWindow(settings: settings, policy: config.retry),
            deadLetters: deadLetters, threads: config.concurrency, wake: signal, clock: clock, monotonic: monotonic, random: random)
        var l = logger
        l[metadataKey: "sink"] = "\(config.name)"
        self.logger = l
        let registry = SinkRegistry(dataDir: dataDir)
        let saved = cursor.load()
        let start = CursorStart.decide(saved: saved.map { ($0.seq, $0.offset) }, known: registry.contains(config.name),
            lastSeq: log.lastSeq, durableEnd: log.durableEnd, oldestOffset: log.directory.oldestOffset())
        (startPosition, aheadOfLog) = (CursorStore.Position(seq: start.seq, offset: start.offset), start.aheadOfLog)
        let problem = start.problem(lastSeq: log.lastSeq, durableEnd: log.durableEnd)
        if start.reason == .new {
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
        let now = monotonic()
        let waiting = driver.waiting
        return state.withLock { s in
            var x = StatusSnapshot.Sink(name: config.name)
            (x.cursorSeq, x.delivered, x.retried, x.deadLettered) = (s.cursor.seq, s.delivered, s.retried, s.deadLettered)
            x.skipped = s.skipped
            (x.retrying, x.failing) = (waiting.count, s.failing)
            x.nextRetryInSeconds = waiting.nextDue.map { max(0, $0 - now) }
            (x.lastSuccessAt, x.lastErrorAt, x.lastError) = (s.lastSuccessAt, s.lastErrorAt, s.lastError)
            x.warning = startWarning
            return x
        }
    }

    /// The saved cursor's log position (retention keeps the segment holding it).
    public var cursorOffset: Int64 { state.withLock { $0.cursor.offset } }

    public func start() {
        let started = POSIXThread.spawn(name: "sink:" + config.name) { [self] in coordinate() }
        thread.withLock { $0 = started }
    }

    /// Stops taking new work; the runner saves its cursor once deliveries in flight finish.
    public func beginStopping() {
        state.withLock { $0.stopping = true }
        signal.notify()
    }

    /// Waits up to `timeout` for the runner to finish stopping, then for its threads to end;
    /// a delivery still running then keeps them (it is sent again after a restart).
    public func waitUntilStopped(timeout: Double) {
        _ = thread.withLock({ $0 })?.join(within: timeout)
    }

    /// How often, at most, a moving cursor is fdatasync'ed. Every move is written at once
    /// (a crash of the process loses nothing); a power loss can only take the cursor back
    /// to an older position, so at most this much is delivered again (at least once).
    static let cursorSyncInterval = 0.5

    /// How long a sink that takes batches (files) lets a partial batch wait for more
    /// events: under load one write and one fdatasync then serve many events.
    public static let batchLinger = 0.005

    private func coordinate() {
        var reader = LogReader(source: log, offset: startPosition.offset, skipThrough: startPosition.seq)
        var saved = SavedCursor(position: startPosition, lastSync: monotonic())
        var scanned: CursorStore.Position?  // where the reader has passed, once it has read
        var skipped: Int64 = 0
        defer {
            reader.close()
            driver.stop()
        }
        while true {
            applyCompletions()
            let (stopping, inFlight) = (state.withLock { $0.stopping }, driver.inFlightJobs)
            if stopping && inFlight == 0 {
                persist(scanned: scanned, saved: &saved, syncNow: true)
                return
            }
            persist(scanned: scanned, saved: &saved)  // drops the finished prefix: room to refill
            let readOK = stopping ? true : refill(&reader, scanned: &scanned, skippedBytes: &skipped)
            persist(scanned: scanned, saved: &saved)
            var wait = stopping ? 0.05 : driver.launchDue(stopping: false).map { max(0.001, $0 - monotonic()) }
            if let due = saved.syncDue { wait = min(wait ?? .infinity, max(0.001, due - monotonic())) }
            // Unread durable events and room for them: go round again instead of sleeping
            // (the wake-up for them may already have been consumed).
            let room = driver.room > 0
            if readOK && !stopping && room && reader.hasMore(before: log.durableEnd) { continue }
            if !readOK { wait = min(wait ?? 1, 1) }  // a log we cannot read: look again in a second
            signal.wait(seconds: wait)
        }
    }

    /// Adds events after the window to it, up to its capacity. False when the log could not be read.
    private func refill(_ reader: inout LogReader, scanned: inout CursorStore.Position?, skippedBytes: inout Int64) -> Bool {
        let room = driver.room
        guard room > 0 else { return true }
        var ok = true
        let limit = log.durableEnd
        var added: [LoggedEvent] = []
        do {
            // Non-matching events are passed over too, so the cursor moves past them.
            while added.count < room, let e = try reader.peek(upTo: limit) {
                reader.pop()
                if config.filter.matches(category: e.category, event: e.head.event) { added.append(e) }
            }
        } catch {
            logger.error("cannot read the event log", metadata: ["error": "\(error)"])
            ok = false
        }
        driver.append(added)
        scanned = reader.consumed
        for damage in reader.takeDamage() {
            logger.error("the event log has a line with NUL bytes; skipped it", metadata: [
                "file": "\(damage.file)", "offset": "\(damage.offset)", "damagedBytes": "\(damage.bytes)"])
        }
        if reader.skippedBytes > skippedBytes {
            logger.error("part of the log this sink had not read was deleted (retention); skipped it",
                metadata: ["bytes": "\(reader.skippedBytes - skippedBytes)"])
            skippedBytes = reader.skippedBytes
        }
        return ok
    }

    /// Counts, logs and reports what finished jobs came to; an event whose dead letter
    /// could not be written is kept and tried again after `retry.maxSeconds`.
    private func applyCompletions() {
        let settled = driver.settle()
        guard !settled.isEmpty else { return }
        let at = clock.now()
        for outcome in settled {
            switch outcome {
            case .delivered:
                state.withLock { s in
                    (s.delivered, s.failing, s.lastSuccessAt) = (s.delivered + 1, false, at)
                }
                metrics?.delivered(sink: config.name)
            case .skipped:
                state.withLock { $0.skipped += 1 }
                metrics?.skipped(sink: config.name)
            case .retry(let event, let attempt, let inSeconds, let why):
                state.withLock { s in
                    (s.retried, s.failing, s.lastError, s.lastErrorAt) = (s.retried + 1, true, why, at)
                }
                metrics?.retried(sink: config.name)
                logger.warning("delivery failed; will retry", metadata: [
                    "seq": "\(event.seq)", "attempt": "\(attempt)", "error": "\(why)", "retryInSeconds": "\(Int(inSeconds.rounded(.up)))",
                ])
            case .deadLettered(let event, let attempts, let why):
                failed(attempts: attempts, why: why, at: at, counted: true)
                metrics?.failed(sink: config.name)
                logger.error("dead-lettered after \(attempts) attempt(s)", metadata: ["seq": "\(event.seq)", "error": "\(why)"])
            case .unrecorded(_, let ticket, let attempts, let why, let cause):
                failed(attempts: attempts, why: why, at: at, counted: false)
                // Cannot record it: keep the event in the window and try the whole thing again later.
                logger.critical("cannot write a dead letter; will retry the event", metadata: ["error": "\(cause)"])
                driver.startOver(ticket: ticket, at: monotonic() + config.retry.maxSeconds)
            }
        }
    }

    private func failed(attempts: Int, why: String, at: Timestamp, counted: Bool) {
        state.withLock { s in
            (s.lastError, s.lastErrorAt) = (why, at)
            if attempts >= config.retry.maxAttempts { s.failing = true }
            if counted { s.deadLettered += 1 }
        }
    }

    /// The cursor as last written, and when it must next reach the disk.
    struct SavedCursor {
        var position: CursorStore.Position
        var lastSync: Double
        /// Set while a written position waits for its fdatasync.
        var syncDue: Double?
    }

    /// Moves the cursor over the finished prefix of the window and writes it when it moved;
    /// syncs it when a sync is due (or `syncNow`).
    private func persist(scanned: CursorStore.Position?, saved: inout SavedCursor, syncNow: Bool = false) {
        defer {
            if let due = saved.syncDue, syncNow || monotonic() >= due {
                do {
                    try cursor.sync()
                    (saved.syncDue, saved.lastSync) = (nil, monotonic())
                } catch {
                    logger.error("cannot save the sink cursor", metadata: ["error": "\(error)"])
                }
            }
        }
        let position: CursorStore.Position? = driver.dropFinished().map { CursorStore.Position(seq: $0.seq - 1, offset: $0.start) } ?? scanned
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
