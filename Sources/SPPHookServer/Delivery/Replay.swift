// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX

/// Delivers chosen events to one sink now, outside the runner (the `replay` and
/// `dead-letters retry` commands), with the sink's retry policy. What still fails is
/// dead-lettered again. Safe while the daemon runs: delivery is at-least-once anyway.
public struct Replay {
    public struct Report: Sendable {
        public var delivered = 0
        /// Passed over by the sink's `where` (or an empty `transform`).
        public var skipped = 0
        public var failed = 0
        /// Failures that could not be written back as dead letters.
        public var unrecorded = 0

        public init() {}

        public mutating func add(_ other: Report) {
            delivered += other.delivered
            skipped += other.skipped
            failed += other.failed
            unrecorded += other.unrecorded
        }
    }

    public struct Selection: Sendable {
        public var fromSeq: UInt64 = 0
        public var since: Timestamp?
        public var events: [String]?

        public init(fromSeq: UInt64 = 0, since: Timestamp? = nil, events: [String]? = nil) {
            self.fromSeq = fromSeq
            self.since = since
            self.events = events
        }
    }

    let config: SinkConfig
    let sink: any EventSink
    let deadLetters: DeadLetters
    let clock: any WallClock
    let progress: (Note) -> Void
    /// The monotonic clock, the jitter source and the wait between retries (injected by tests).
    let monotonic: @Sendable () -> Double
    let random: @Sendable () -> Double
    let wait: (Double) -> Void

    /// What happens during a replay, for the command to show.
    public enum Note: Sendable {
        case delivered(seq: UInt64, event: String)
        /// A retry or a failure, worth a line of its own.
        case problem(String)
    }

    public init(
        config: SinkConfig, index: Int = 0, api: APIConfig? = nil, dataDir: String, environment: [String: String], hidden: Set<String> = [],
        logger: Logger, progress: @escaping (Note) -> Void
    ) throws(SinkFactory.SetupError) {
        let sink = try SinkFactory.makeSink(config, index: index, api: api, environment: environment, hidden: hidden, logger: logger)
        self.init(config: config, sink: sink, dataDir: dataDir, progress: progress)
    }

    init(
        config: SinkConfig, sink: any EventSink, dataDir: String, clock: any WallClock = SystemWallClock(),
        monotonic: @escaping @Sendable () -> Double = monotonicSeconds, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        wait: @escaping (Double) -> Void = sleepSeconds, progress: @escaping (Note) -> Void
    ) {
        self.config = config
        self.sink = sink
        self.deadLetters = DeadLetters(dataDir: dataDir, sink: config.name)
        self.clock = clock
        self.progress = progress
        (self.monotonic, self.random, self.wait) = (monotonic, random, wait)
    }

    /// Events from the log that the sink takes and `selection` picks (at most `limit`).
    /// `damaged` hears of every line with NUL bytes passed over.
    public static func select(
        dataDir: String, config: SinkConfig, selection: Selection, limit: Int = .max, damaged: @escaping @Sendable (LineDamage) -> Void
    ) throws(IOError) -> [LoggedEvent] {
        var result: [LoggedEvent] = []
        try forEachBatch(dataDir: dataDir, config: config, selection: selection, size: min(limit, 1024), damaged: damaged) { batch in
            result += batch.prefix(limit - result.count)
            return result.count < limit
        }
        return result
    }

    /// Hands the selected events to `body` in batches of up to `size`, reading from where the
    /// selection starts (``LogSearch``), until the log's end or `body` returns false. The log
    /// is read a batch ahead on a thread of its own (``ReadAhead``), so reading and parsing
    /// overlap what `body` does with the batch before. `damaged` hears (on the reading thread)
    /// of every line with NUL bytes passed over.
    public static func forEachBatch(
        dataDir: String, config: SinkConfig, selection: Selection, size: Int, damaged: @escaping @Sendable (LineDamage) -> Void,
        _ body: ([LoggedEvent]) -> Bool
    ) throws(IOError) {
        let batches = ReadAhead<[LoggedEvent]>(depth: 1, name: "replay-read") { emit throws(IOError) in
            try readBatches(dataDir: dataDir, config: config, selection: selection, size: size, damaged: damaged, emit)
        }
        defer { batches.cancel() }
        while let batch = try batches.next() {
            guard body(batch) else { return }
        }
    }

    private static func readBatches(
        dataDir: String, config: SinkConfig, selection: Selection, size: Int, damaged: (LineDamage) -> Void,
        _ emit: ([LoggedEvent]) -> Bool
    ) throws(IOError) {
        let log = OfflineLog(dataDir: dataDir)
        let start = LogSearch.start(dataDir: dataDir, fromSeq: selection.fromSeq, since: selection.since)
        var reader = LogReader(source: log, offset: start, skipThrough: 0)
        defer {
            reader.takeDamage().forEach(damaged)
            reader.close()
        }
        let end = log.end
        let filter = selection.events.map { SinkFilter(events: $0) }
        var batch: [LoggedEvent] = []
        while let e = try reader.peek(upTo: end) {
            reader.pop()
            guard e.seq >= selection.fromSeq else { continue }
            if let since = selection.since, e.head.receivedAt < since { continue }
            if let filter, !filter.matches(category: e.category, event: e.head.event) { continue }
            guard config.filter.matches(category: e.category, event: e.head.event) else { continue }
            batch.append(e)
            if batch.count >= size {
                reader.takeDamage().forEach(damaged)
                guard emit(batch) else { return }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = emit(batch) }
    }

    /// The sink's dead letters, taken out of its file; call `finish()` on the result once
    /// they have been delivered (failures go back in as new letters). A letter that cannot
    /// be read is written back to the live file as it is, before anything is taken away:
    /// it stays listed, never silently dropped (`unreadable` counts them).
    public func takeDeadLetters() throws(IOError) -> (events: [LoggedEvent], taken: DeadLetters.Taken, unreadable: Int) {
        let taken = try deadLetters.takeAll()
        for d in taken.damaged { progress(.problem("\(d)")) }
        var events: [LoggedEvent] = []
        var unreadable: [UInt8] = []
        var unreadableCount = 0
        for line in taken.lines {
            if case .object(let o)? = try? JSONParser.parse(line, maxDepth: JSONParser.storedMaxDepth),
                case .object(let record)? = o["record"]
            {
                let bytes = JSONWriter.bytes(.object(record))
                if let head = EventLogLine(bytes[...]) {
                    events.append(LoggedEvent(line: bytes, start: 0, end: 0, head: head))
                    continue
                }
            }
            unreadable += line + [0x0A]
            unreadableCount += 1
        }
        if !unreadable.isEmpty { try deadLetters.appendLocked(unreadable) }
        return (events, taken, unreadableCount)
    }

    /// Delivers `events` through the sink's ``DeliveryDriver``: the runner's retry policy,
    /// order and `concurrency` (jobs run on that many threads when it is above one), waiting
    /// (``wait``) when only retries are left. What runs out of attempts is dead-lettered again.
    public func deliver(_ events: [LoggedEvent]) -> Report {
        var report = Report()
        let window = DeliveryWindow<LoggedEvent>(
            settings: .init(ordered: config.ordered, concurrency: config.concurrency, batchSize: sink.batchSize), policy: config.retry)
        let driver = DeliveryDriver(sinkName: config.name, sink: sink, window: window, deadLetters: deadLetters,
            threads: config.concurrency > 1 ? config.concurrency : 0, clock: clock, monotonic: monotonic, random: random)
        defer { driver.stop() }
        driver.append(events)
        while true {
            let nextDue = driver.launchDue(stopping: true)
            guard driver.inFlightJobs > 0 else {
                guard let nextDue else { return report }
                wait(max(0, nextDue - monotonic()))
                continue
            }
            for settled in driver.settle(waiting: true) { record(settled, report: &report) }
            _ = driver.dropFinished()
        }
    }

    private func record(_ settled: DeliveryDriver.Settled, report: inout Report) {
        switch settled {
        case .delivered(let e):
            report.delivered += 1
            progress(.delivered(seq: e.seq, event: e.head.event))
        case .skipped:
            report.skipped += 1
        case .retry(let e, _, let inSeconds, let why):
            progress(.problem("retrying seq \(e.seq) in \((inSeconds * 10).rounded() / 10) s: \(why)"))
        case .deadLettered(let e, _, let why):
            report.failed += 1
            progress(.problem("FAILED seq \(e.seq) \(e.head.event): \(why)"))
        case .unrecorded(let e, _, _, let why, let cause):
            (report.failed, report.unrecorded) = (report.failed + 1, report.unrecorded + 1)
            progress(.problem("FAILED seq \(e.seq) \(e.head.event): \(why)"))
            progress(.problem("cannot write the dead letter for seq \(e.seq): \(cause)"))
        }
    }
}
