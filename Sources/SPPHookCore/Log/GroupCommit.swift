// SPDX-License-Identifier: MIT

/// The event log's group commit as a value: sequence numbers, the dedup index, and the
/// batch that accumulates while the one before it is written and synced. The log holds it
/// under a lock and does the I/O its answers ask for:
///
/// 1. ``append(key:category:atMs:tail:ticket:verified:)`` answers a duplicate of a stored
///    event at once, queues anything else, and says when the caller starts a flush; or it
///    asks for log lines to be read first (``Step/verify(_:)``), which the caller does
///    outside the lock before it appends again.
/// 2. ``takeBatch()`` hands the flush the lines to write (one flush at a time).
/// 3. ``settle(_:end:failure:)`` turns the write's result into every ticket's answer, and
///    says whether another batch is waiting.
///
/// Invariant: ``AppendOutcome/stored(seq:)`` only for a batch whose write and sync
/// succeeded. A redelivery of an event still in flight is answered with its original's
/// fate: a duplicate once stored, 503 when its batch failed.
public struct GroupCommit<Ticket>: ~Copyable {
    enum Item {
        case new(seq: UInt64, key: DedupKey?, atMs: Int64, tail: [UInt8], ticket: Ticket)
        case duplicate(of: DedupIndex.Original, ticket: Ticket)
    }

    /// What the caller does next with an append.
    public enum Step {
        case answer(AppendOutcome)
        /// Queued: its answer comes from ``settle(_:end:failure:)``. `startFlush`: no flush
        /// is running, so the caller starts one.
        case queued(startFlush: Bool)
        /// Read the log lines at these offsets (``DedupIndex/find(_:verified:)``), then
        /// append again with what they hold.
        case verify([Int64])
    }

    /// A batch on its way to disk: the bytes to append, and where each new line starts in them.
    public struct Batch {
        let items: [Item]
        public let bytes: [UInt8]
        public let lineStarts: [Int]
        public var isEmpty: Bool { items.isEmpty }
    }

    public private(set) var lastSeq: UInt64
    public private(set) var dedup: DedupIndex
    /// The end of the last batch on disk and the seq of its last line: what a checkpoint
    /// of `dedup` covers.
    public private(set) var covered: (end: Int64, seq: UInt64)
    /// A flush is running (it takes batches until none is left).
    public private(set) var flushing = false
    private var batch: [Item] = []
    /// Seqs whose batch failed in the last settle: redeliveries of them queued before it learn so.
    private var failed: Set<UInt64> = []

    public init(lastSeq: UInt64, dedup: consuming DedupIndex, covered: (end: Int64, seq: UInt64)) {
        self.lastSeq = lastSeq
        self.dedup = dedup
        self.covered = covered
    }

    /// Nothing queued and no flush running.
    public var isIdle: Bool { !flushing && batch.isEmpty }

    /// Seqs continue above `seq` (a sink's cursor was ahead of the log).
    public mutating func continueSeq(after seq: UInt64) {
        lastSeq = max(lastSeq, seq)
    }

    /// An event to store. `key`: its dedup key (nil: never deduplicated). `verified`: what
    /// the caller read at the offsets a ``Step/verify(_:)`` named, for this same event.
    public mutating func append(
        key: DedupKey?, category: EventCategory, atMs: Int64, tail: [UInt8], ticket: Ticket,
        verified: [Int64: DedupIndex.Original?] = [:]
    ) -> Step {
        dedup.expire(now: atMs)
        if let key {
            switch dedup.find(key, verified: verified) {
            case .stored(let original):
                return .answer(.duplicate(seq: original.seq, category: original.category))
            case .pending(let original):
                batch.append(.duplicate(of: original, ticket: ticket))
                return queued()
            case .unverified(let offsets):
                return .verify(offsets)
            case .new:
                break
            }
        }
        lastSeq += 1
        if let key { dedup.addPending(key, .init(seq: lastSeq, category: category)) }
        batch.append(.new(seq: lastSeq, key: key, atMs: atMs, tail: tail, ticket: ticket))
        return queued()
    }

    private mutating func queued() -> Step {
        defer { flushing = true }
        return .queued(startFlush: !flushing)
    }

    /// The lines queued so far, for the running flush to write and sync.
    public mutating func takeBatch() -> Batch {
        let items = batch
        batch = []
        var bytes: [UInt8] = []
        var starts: [Int] = []
        bytes.reserveCapacity(items.reduce(0) { n, item in
            if case .new(_, _, _, let tail, _) = item { n + 32 + tail.count } else { n }
        })
        starts.reserveCapacity(items.count)
        for case .new(let seq, _, _, let tail, _) in items {
            starts.append(bytes.count)
            EventRecord.appendHead(seq: seq, to: &bytes)
            bytes.append(contentsOf: tail)
        }
        return Batch(items: items, bytes: bytes, lineStarts: starts)
    }

    /// The batch was written and synced, ending at the logical offset `end`, or it failed
    /// (`failure`, and nothing of it stayed in the file). Returns each ticket's answer in
    /// order, and whether the flush goes on (another batch is queued); when not, the next
    /// append starts one.
    public mutating func settle(_ done: Batch, end: Int64, failure: String?) -> (answers: [(Ticket, AppendOutcome)], more: Bool) {
        let failedBefore = failed
        failed = []
        var answers: [(Ticket, AppendOutcome)] = []
        answers.reserveCapacity(done.items.count)
        let first = end - Int64(done.bytes.count)
        var n = 0
        for item in done.items {
            switch item {
            case .new(let seq, let key, let atMs, _, let ticket):
                let offset = first + Int64(done.lineStarts[n])
                n += 1
                if let failure {
                    if let key { dedup.dropPending(key, seq: seq) }
                    failed.insert(seq)
                    answers.append((ticket, .unavailable(failure)))
                } else {
                    if let key { dedup.commit(key, seq: seq, offset: offset, atMs: atMs) }
                    covered = (end, seq)
                    answers.append((ticket, .stored(seq: seq)))
                }
            case .duplicate(let original, let ticket):
                if failed.contains(original.seq) || failedBefore.contains(original.seq) {
                    answers.append((ticket, .unavailable(failure ?? "the original delivery was not stored")))
                } else {
                    answers.append((ticket, .duplicate(seq: original.seq, category: original.category)))
                }
            }
        }
        if batch.isEmpty { flushing = false }
        return (answers, flushing)
    }
}

extension GroupCommit.Item: Sendable where Ticket: Sendable {}
extension GroupCommit.Batch: Sendable where Ticket: Sendable {}
