// SPDX-License-Identifier: MIT
import CShims
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX
import Synchronization

/// Runs work once the caller's current round of requests has been read: an intake loop
/// (``EventLoop``) hands itself to ``EventLog/append(id:category:receivedAt:tail:writeAt:completion:)``.
public protocol RoundScheduler: AnyObject {
    func afterRound(_ work: @escaping () -> Void)
}

/// The append-only JSON Lines event log, `<dataDir>/events.jsonl` (the active segment;
/// see ``LogDirectory`` for rotated segments and logical offsets).
///
/// Invariant: an ``Outcome/stored(seq:)`` is reported only after the event's line was
/// written and `fdatasync` returned success. Appends from concurrent requests are grouped
/// (group commit): while one batch is being synced, the next accumulates, so one sync
/// serves many requests. A batch whose write or sync fails is cut off the file again and
/// every request in it is told ``Outcome/unavailable(_:)`` (answered 503).
///
/// Who writes: a caller that hands `append` a way to run work at the end of its round (an
/// intake loop: ``EventLoop/afterRound(_:)``) writes and syncs the batch it starts itself,
/// once it has read every request of its round, and answers them on the same thread: no
/// hand-off to another thread and back (about six context switches a batch, each dear in a
/// VM). The price: the loop reads nothing while it syncs. What other loops append meanwhile
/// is written by the log's writer thread, as is everything appended without one (tests,
/// tools). The log itself knows nothing of intake loops.
public final class EventLog: Sendable {
    public typealias Outcome = AppendOutcome

    public typealias Completion = @Sendable (Outcome) -> Void

    /// What start-up found in the existing log.
    public struct Recovery: Sendable, Equatable {
        public var lines = 0
        public var lastSeq: UInt64 = 0
        /// Bytes cut off the end (a torn last line after a crash), saved to `savedTo`.
        public var tornBytes: Int64 = 0
        public var savedTo: String?
        /// Valid-looking lines found after the first bad one (a sign of corruption, not a crash).
        public var validLinesAfterDamage = 0
        /// Lines with NUL bytes passed over (``LineDamage``).
        public var damagedLines = 0
        public var dedupEntries = 0
        /// Whether start-up used `dedup.checkpoint`, or why not.
        public var checkpoint = "none"
        /// Bytes of log read at start-up (all of it without a checkpoint, the rest after it with one).
        public var scannedBytes: Int64 = 0
    }

    struct Writer: ~Copyable {
        var file: any AppendFile
        /// Logical offset of the active segment's first byte.
        var base: Int64
        /// Bytes of the active segment on disk.
        var durableSize: Int64
        /// Why the last batch failed; nil once one succeeds.
        var lastFailure: String?
        /// A failed rotation is tried again only after this (monotonic seconds).
        var rotateAfter: Double = 0
        /// A failed batch could not be cut off; nothing more is appended until it is.
        var needsRepair = false
        /// A rotation's directory entries are not durable yet: the next batch syncs the
        /// directory first, and fails (503) while that fails.
        var directoryUnsynced = false

        /// The open file by descriptor: still the same file after a rename.
        var descriptorPath: String { "/proc/self/fd/\(file.descriptor)" }
    }

    package let path: String
    package let directory: LogDirectory
    public let recovery: Recovery
    let settings: DaemonConfig.LogSettings
    /// The logical end of the log known to be on disk; readers (sinks) never read past it.
    let durable: Atomic<Int64>
    /// The logical offset where the active segment starts. Stored before the new active
    /// file exists, so a reader that opens the active file and then sees the same base got
    /// the right file.
    let base: Atomic<Int64>
    /// The oldest logical offset a sink still needs (retention keeps it).
    let floor = Mutex<@Sendable () -> Int64>({ Int64.max })
    let subscribers = Mutex<[Signal]>([])
    /// Sequence numbers, the dedup index and the batches (``GroupCommit``).
    let state: Mutex<GroupCommit<Completion>>
    let writer: Mutex<Writer>
    private let queue = WorkerThread(name: "log-writer")
    /// Checkpoints are written here, off the writer's queue.
    let checkpointQueue = WorkerThread(name: "log-checkpoint")
    /// The position the last checkpoint written covers.
    let checkpointed = Mutex<Int64?>(nil)
    let clock: any WallClock
    let logger: Logger

    /// Opens `<directory>/events.jsonl`, creating the directory and file as needed,
    /// repairs a torn tail and rebuilds the dedup index from the window's events.
    public convenience init(
        directory: String, dedupWindowSeconds: Int, settings: DaemonConfig.LogSettings = .init(), clock: any WallClock,
        logger: Logger
    ) throws(IOError) {
        try makeDirectories(directory)
        let path = LogDirectory(directory).activePath
        let (file, created) = try POSIXAppendFile.open(path)
        if created { try syncDirectory(directory) }
        try self.init(
            file: file, path: path, dedupWindowSeconds: dedupWindowSeconds, settings: settings, clock: clock, logger: logger)
    }

    /// Opens the log on an injected file (tests use a failing one); `path` is where it lives.
    package init(
        file: any AppendFile, path: String, dedupWindowSeconds: Int, settings: DaemonConfig.LogSettings = .init(),
        clock: any WallClock, logger: Logger
    ) throws(IOError) {
        self.path = path
        self.directory = LogDirectory(path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ".")
        self.settings = settings
        self.clock = clock
        self.logger = logger
        let base = directory.activeBase()
        var dedup = DedupIndex(windowSeconds: dedupWindowSeconds)
        let now = clock.now()
        var checkpoint: DedupCheckpoint?
        var note = "none"
        let rotated = directory.rotated()
        switch Self.loadCheckpoint(directory: directory, rotated: rotated, active: file, activeBase: base, windowMs: dedup.windowMs) {
        case .loaded(let table, let cp):
            (dedup, checkpoint) = (DedupIndex(table: table), cp)
        case .missing:
            break
        case .refused(let why):
            note = "refused: \(why)"
            logger.warning("dedup checkpoint not used; reading the whole event log", metadata: ["reason": "\(why)"])
        }
        var recovery = try Self.recover(file: file, path: path, base: base, rotated: rotated, after: checkpoint,
            dedup: &dedup, now: now, logger: logger)
        if let checkpoint { note = "loaded \(checkpoint.count) entries covering the log up to \(checkpoint.end)" }
        if dedup.count > 0 && (checkpoint == nil || recovery.scannedBytes >= 1 << 27) {
            // A long scan (rotated segments too) filled the index by inserting: its shards grew
            // by half at a time, larger than a restore makes them, and its reads left freed
            // buffers in malloc's lists. Placing the entries again is a small part of such a scan.
            dedup.compact { POSIXThread.both(name: "dedup-compact", $0, $1) }
            spp_release_free_memory()
        }
        recovery.checkpoint = note
        self.recovery = recovery
        let size = try file.size()
        // Seqs issued before the log lost history (a cursor was ahead of it) stay used.
        self.state = Mutex(GroupCommit(lastSeq: max(recovery.lastSeq, directory.seqFloor()), dedup: dedup,
            covered: (base + size, recovery.lastSeq)))
        if let checkpoint, checkpoint.end == base + size { checkpointed.withLock { $0 = checkpoint.end } }
        self.writer = Mutex(Writer(file: file, base: base, durableSize: size))
        self.durable = Atomic(base + size)
        self.base = Atomic(base)
    }

    /// Why the log cannot take events now (the last write or sync failed, or a failed
    /// batch could not be cut off yet); nil when it is healthy.
    package var problem: String? {
        writer.withLock { w in
            if w.needsRepair { return "event log needs repair: a failed batch could not be cut off" }
            return w.lastFailure
        }
    }

    /// The logical end of the durable log (a position as sink cursors store it).
    public var durableEnd: Int64 { durable.load(ordering: .acquiring) }

    /// Where the active segment starts in the logical log.
    package var activeBase: Int64 { base.load(ordering: .acquiring) }

    /// Opens the active segment for reading, with its base: the file the writer appends
    /// to, even if something renamed it (external logrotate before SIGUSR1).
    func openActive() throws(IOError) -> (fd: Int32, base: Int64) {
        try writer.withLock { w throws(IOError) in
            let fd = try sys("open(\(path))") { open(w.descriptorPath, O_RDONLY | O_CLOEXEC) }
            return (fd, w.base)
        }
    }

    /// Tells retention the oldest logical offset still needed (the slowest sink cursor).
    package func setRetentionFloor(_ floor: @escaping @Sendable () -> Int64) {
        self.floor.withLock { $0 = floor }
    }

    /// `signal` is notified after every batch that reached the disk.
    func subscribe(_ signal: Signal) {
        subscribers.withLock { $0.append(signal) }
    }

    /// Queues an event line; `completion` runs once its fate is known (on the thread that
    /// wrote its batch).
    /// - Parameters:
    ///   - id: the dedup key / event id.
    ///   - tail: ``EventRecord/tail(id:receivedAt:endpoint:category:event:created:payload:)``.
    ///   - roundEnd: given, a batch this append starts is written there; else by the writer thread.
    public func append(
        id: String, category: EventCategory, receivedAt: Timestamp, tail: [UInt8], writeAt roundEnd: (any RoundScheduler)? = nil,
        completion: @escaping Completion
    ) {
        let key = DedupIndex.Key(id: id)
        let atMs = receivedAt.millisecondsSinceEpoch
        // Candidates for a duplicate are read here, outside the lock, then looked up again.
        var verified: [Int64: DedupIndex.Original?] = [:]
        while true {
            let step = state.withLock { s in
                s.append(key: key, category: category, atMs: atMs, tail: tail, ticket: completion, verified: verified)
            }
            switch step {
            case .answer(let outcome):
                return completion(outcome)
            case .queued(let startFlush):
                guard startFlush else { return }
                if let roundEnd {
                    roundEnd.afterRound { self.flushOnLoop() }
                } else {
                    queue.async { self.flushLoop() }
                }
                return
            case .verify(let offsets):
                guard let key else { preconditionFailure("only an event with a dedup key has candidates to verify") }
                for offset in offsets { verified[offset] = original(at: offset, key: key) }
            }
        }
    }

    /// The highest sequence number assigned so far.
    public var lastSeq: UInt64 { state.withLock { $0.lastSeq } }

    /// Runs `completion` on the log's writer queue once the batch in progress is done: if
    /// the writer is stuck (a hung disk), it does not run. The watchdog pings only then.
    package func probe(_ completion: @escaping @Sendable () -> Void) {
        queue.async(completion)
    }

    /// Waits until every queued append has completed.
    package func drain() {
        while true {
            queue.sync {}
            if state.withLock({ $0.isIdle }) { return }
        }
    }

    /// Completes every queued append, writes a checkpoint, and ends the log's threads: the
    /// last step of a stop (or of a start that failed after the log opened). Appends after
    /// it are never answered. Reading it (``durableEnd``, the files) still works.
    public func stop() {
        drain()
        checkpointNow()
        queue.finish()
        checkpointQueue.finish()
    }

    private func flushLoop() {
        while flushNext(onLoop: false) {}
    }

    /// One batch at the end of a caller's round. What others appended meanwhile goes on on
    /// the writer thread, so the caller's connections are not kept waiting for it.
    private func flushOnLoop() {
        if flushNext(onLoop: true) { queue.async { self.flushLoop() } }
    }

    /// Writes and syncs the batch, and tells each request. Returns whether more is waiting;
    /// when not, flushing stops (the next append starts it again).
    private func flushNext(onLoop: Bool) -> Bool {
        let batch = state.withLock { $0.takeBatch() }
        let bytes = batch.bytes
        let (failure, end, rotated) = writer.withLock { w in
            var failure = Self.write(bytes, to: &w, directory: directory.directory, logger: logger)
            if failure == nil && !ensureLinked(&w) { failure = w.lastFailure ?? "events.jsonl was deleted" }
            let end = w.base + w.durableSize
            var rotated = false
            if failure == nil, let max = settings.maxBytes, w.durableSize >= max, monotonicSeconds() >= w.rotateAfter {
                rotated = rotate(&w, externallyMoved: false)
            }
            return (failure, end, rotated)
        }
        if failure == nil {
            durable.store(end, ordering: .releasing)
            for s in subscribers.withLock({ $0 }) { s.notify() }
        }
        if rotated {
            // Deleting old segments is not for an intake loop to wait on.
            if onLoop { queue.async { self.applyRetention() } } else { applyRetention() }
            scheduleCheckpoint()
        }
        let (answers, more) = state.withLock { $0.settle(batch, end: end, failure: failure) }
        for (completion, outcome) in answers { completion(outcome) }
        return more
    }

    /// Cuts a failed batch that could not be cut off earlier (`needsRepair`) off the file.
    static func repairIfNeeded(_ w: inout Writer, logger: Logger) throws(IOError) {
        guard w.needsRepair else { return }
        try DurableAppend.cut(w.file, to: w.durableSize)
        w.needsRepair = false
        logger.notice("event log repaired; accepting events again", metadata: ["size": "\(w.durableSize)"])
    }

    /// Writes and syncs one batch (``DurableAppend``: a failed write or sync is cut off the
    /// file and written once more). Returns nil on success, or why it failed; then no byte
    /// of the batch stays in front of later lines, or `needsRepair` holds appends until the
    /// cut succeeds.
    private static func write(_ bytes: [UInt8], to w: inout Writer, directory: String, logger: Logger) -> String? {
        if bytes.isEmpty { return nil }
        do throws(IOError) {
            if w.directoryUnsynced {
                try syncDirectory(directory)
                w.directoryUnsynced = false
            }
            try repairIfNeeded(&w, logger: logger)
            do throws(DurableAppend.Failure) {
                try DurableAppend.append(bytes, to: w.file, synced: w.durableSize)
            } catch {
                if case .doubtful = error {
                    w.needsRepair = true
                    logger.critical("could not cut a failed batch off the event log", metadata: ["error": "\(error)"])
                }
                throw error.ioError
            }
            w.durableSize += Int64(bytes.count)
            w.lastFailure = nil
            return nil
        } catch {
            logger.error("event log write failed; answering 503", metadata: ["error": "\(error)"])
            w.lastFailure = "event log unavailable: \(error)"
            return w.lastFailure
        }
    }
}
