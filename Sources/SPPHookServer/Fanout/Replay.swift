// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore

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

    /// What happens during a replay, for the command to show.
    public enum Note: Sendable {
        case delivered(seq: UInt64, event: String)
        /// A retry or a failure, worth a line of its own.
        case problem(String)
    }

    public init(
        config: SinkConfig, index: Int = 0, api: APIConfig? = nil, dataDir: String, environment: [String: String], hidden: Set<String> = [],
        logger: Logger, progress: @escaping (Note) -> Void
    ) throws(Fanout.SetupError) {
        self.config = config
        self.sink = try Fanout.makeSink(config, index: index, api: api, environment: environment, hidden: hidden, logger: logger)
        self.deadLetters = DeadLetters(dataDir: dataDir, sink: config.name)
        self.clock = SystemWallClock()
        self.progress = progress
    }

    /// Events from the log that the sink takes and `selection` picks (at most `limit`).
    public static func select(dataDir: String, config: SinkConfig, selection: Selection, limit: Int = .max) throws(IOError)
        -> [LoggedEvent]
    {
        var result: [LoggedEvent] = []
        try forEachBatch(dataDir: dataDir, config: config, selection: selection, size: min(limit, 1024)) { batch in
            result += batch.prefix(limit - result.count)
            return result.count < limit
        }
        return result
    }

    /// Hands the selected events to `body` in batches of up to `size`, reading from where the
    /// selection starts (``LogSearch``), until the log's end or `body` returns false.
    public static func forEachBatch(
        dataDir: String, config: SinkConfig, selection: Selection, size: Int, _ body: ([LoggedEvent]) -> Bool
    ) throws(IOError) {
        let log = OfflineLog(dataDir: dataDir)
        let start = LogSearch.start(dataDir: dataDir, fromSeq: selection.fromSeq, since: selection.since)
        var reader = LogReader(source: log, offset: start, skipThrough: 0)
        defer { reader.close() }
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
                guard body(batch) else { return }
                batch.removeAll(keepingCapacity: true)
            }
        }
        if !batch.isEmpty { _ = body(batch) }
    }

    /// The sink's dead letters, taken out of its file; call `finish()` on the result once
    /// they have been delivered (failures go back in as new letters). A letter that cannot
    /// be read is written back to the live file as it is, before anything is taken away:
    /// it stays listed, never silently dropped (`unreadable` counts them).
    public func takeDeadLetters() throws(IOError) -> (events: [LoggedEvent], taken: DeadLetters.Taken, unreadable: Int) {
        let taken = try deadLetters.takeAll()
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

    public func deliver(_ events: [LoggedEvent]) -> Report {
        var report = Report()
        var index = 0
        while index < events.count {
            let batch = Array(events[index..<min(events.count, index + sink.batchSize)])
            index += batch.count
            var pending = Array(batch.indices)
            var attempts = 0
            var lastError: [Int: String] = [:]
            while !pending.isEmpty && attempts < config.retry.maxAttempts {
                attempts += 1
                let outcomes = sink.deliver(pending.map { batch[$0] })
                var next: [Int] = []
                var wait = 0.0
                for (k, outcome) in zip(pending, outcomes) {
                    switch outcome {
                    case .delivered:
                        report.delivered += 1
                        progress(.delivered(seq: batch[k].seq, event: batch[k].head.event))
                    case .retry(let why, let after):
                        lastError[k] = why
                        next.append(k)
                        wait = max(wait, after ?? 0)
                    case .skipped:
                        report.skipped += 1
                    case .permanent(let why):
                        lastError[k] = why
                        fail(batch[k], attempts: attempts, why: why, report: &report)
                    }
                }
                pending = next
                if !pending.isEmpty && attempts < config.retry.maxAttempts {
                    let delay = max(wait, config.retry.delay(afterAttempt: attempts, random: Double.random(in: 0..<1)))
                    progress(.problem("retrying \(pending.count) event(s) in \((delay * 10).rounded() / 10) s: \(lastError[pending[0]] ?? "")"))
                    usleep(useconds_t(min(delay, 3600) * 1_000_000))
                }
            }
            for k in pending { fail(batch[k], attempts: attempts, why: lastError[k] ?? "failed", report: &report) }
        }
        return report
    }

    private func fail(_ event: LoggedEvent, attempts: Int, why: String, report: inout Report) {
        report.failed += 1
        progress(.problem("FAILED seq \(event.seq) \(event.head.event): \(why)"))
        do {
            try deadLetters.append(sink: config.name, event: event, attempts: attempts, error: why, at: clock.now())
        } catch {
            report.unrecorded += 1
            progress(.problem("cannot write the dead letter for seq \(event.seq): \(error)"))
        }
    }
}
