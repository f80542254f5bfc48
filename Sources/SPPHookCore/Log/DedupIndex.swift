// SPDX-License-Identifier: MIT

/// Which events were stored recently, so a redelivery within the window is answered as a
/// duplicate instead of being stored twice.
///
/// Two parts: events on their way to disk (`pending`, exact keys, a batch's worth), and the
/// stored ones (``DedupTable``, compact). A stored candidate is confirmed by the caller's
/// `verify`, which reads the log line at the candidate's offset and returns the original
/// only when the whole id matches.
public struct DedupIndex: Sendable {
    public typealias Key = DedupKey

    /// The stored event a redelivery duplicates.
    public struct Original: Sendable, Equatable {
        public var seq: UInt64
        public var category: EventCategory

        public init(seq: UInt64, category: EventCategory) {
            (self.seq, self.category) = (seq, category)
        }
    }

    public enum Lookup: Sendable, Equatable {
        case new
        /// The original is in a batch not yet on disk: answer once it is.
        case pending
        case stored(Original)
    }

    public private(set) var table: DedupTable
    private var pending: [Key: Original] = [:]

    public init(windowSeconds: Int, maxEntries: Int = 1_000_000) {
        table = DedupTable(windowSeconds: windowSeconds, maxEntries: maxEntries)
    }

    public init(table: DedupTable) {
        self.table = table
    }

    public var isEnabled: Bool { table.isEnabled }
    public var windowMs: Int64 { table.windowMs }
    public var count: Int { table.count + pending.count }

    public func lookup(_ key: Key, verify: (Int64) -> Original?) -> Lookup {
        if pending[key] != nil { return .pending }
        return table.first(matching: key, verify).map { .stored($0) } ?? .new
    }

    /// What a lookup without reading the log knows (``GroupCommit``).
    public enum Finding: Sendable, Equatable {
        case new
        /// The original is on its way to disk.
        case pending(Original)
        case stored(Original)
        /// Stored candidates with this key's fingerprint whose lines were not read yet:
        /// read them, and look again with what they hold.
        case unverified([Int64])
    }

    /// Looks `key` up with what the caller read so far: `verified[offset]` is the original
    /// when the log line at `offset` has this key's whole id, nil when it has another.
    public func find(_ key: Key, verified: [Int64: Original?]) -> Finding {
        if let original = pending[key] { return .pending(original) }
        var unread: [Int64] = []
        let found = table.first(matching: key) { offset -> Original? in
            guard let known = verified[offset] else {
                unread.append(offset)
                return nil
            }
            return known
        }
        if let found { return .stored(found) }
        return unread.isEmpty ? .new : .unverified(unread)
    }

    /// A new event, queued for the disk.
    public mutating func addPending(_ key: Key, _ original: Original) {
        guard isEnabled else { return }
        pending[key] = original
    }

    /// The batch holding `seq` reached the disk; its line starts at `offset`.
    public mutating func commit(_ key: Key, seq: UInt64, offset: Int64, atMs: Int64) {
        guard pending[key]?.seq == seq else { return }
        pending[key] = nil
        table.insert(key, offset: offset, atMs: atMs)
    }

    /// The batch holding `seq` failed: a redelivery is new again.
    public mutating func dropPending(_ key: Key, seq: UInt64) {
        if pending[key]?.seq == seq { pending[key] = nil }
    }

    /// A stored event found by start-up.
    public mutating func remember(_ key: Key, offset: Int64, atMs: Int64) {
        table.insert(key, offset: offset, atMs: atMs)
    }

    /// ``DedupTable/compact(both:)``: after filling the table by inserting, at start-up.
    public mutating func compact(
        both: (_ a: @escaping @Sendable () -> [[UInt32]], _ b: @escaping @Sendable () -> [[UInt32]]) -> ([[UInt32]], [[UInt32]])
    ) {
        table.compact(both: both)
    }

    public mutating func expire(now: Int64) {
        table.expire(now: now)
    }
}
