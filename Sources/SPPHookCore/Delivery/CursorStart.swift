// SPDX-License-Identifier: MIT

/// Where a sink starts reading the log when the daemon starts, from its saved cursor and
/// what the log holds. Never past an event it has not delivered: a sink that cannot trust
/// its cursor starts again at the oldest event still in the log (receivers drop the
/// duplicates by id).
public struct CursorStart: Equatable, Sendable {
    public enum Reason: Equatable, Sendable {
        /// The saved cursor, consistent with the log.
        case saved
        /// A sink never seen before: it starts after the log's current end.
        case new
        /// The cursor is past the log's end (its history was cut, replaced or deleted). The
        /// log continues its seqs above it, so nothing new is skipped either.
        case aheadOfLog(seq: UInt64, offset: Int64)
        /// A known sink without a cursor file: it lost it.
        case lost
    }

    public var seq: UInt64
    public var offset: Int64
    public var reason: Reason

    public init(seq: UInt64, offset: Int64, reason: Reason) {
        (self.seq, self.offset, self.reason) = (seq, offset, reason)
    }

    /// - Parameters:
    ///   - saved: the cursor file's position, if it has one.
    ///   - known: the sink is in the registry of sinks that ever had a cursor.
    ///   - oldestOffset: the logical offset of the oldest event still in the log.
    public static func decide(
        saved: (seq: UInt64, offset: Int64)?, known: Bool, lastSeq: UInt64, durableEnd: Int64, oldestOffset: Int64
    ) -> CursorStart {
        guard let saved else {
            return known ? CursorStart(seq: 0, offset: oldestOffset, reason: .lost) : CursorStart(seq: lastSeq, offset: durableEnd, reason: .new)
        }
        if saved.seq > lastSeq || saved.offset > durableEnd {
            return CursorStart(seq: 0, offset: oldestOffset, reason: .aheadOfLog(seq: saved.seq, offset: saved.offset))
        }
        return CursorStart(seq: saved.seq, offset: saved.offset, reason: .saved)
    }

    /// The saved cursor's seq when it was ahead of the log (seqs continue above it).
    public var aheadOfLog: UInt64? {
        if case .aheadOfLog(let seq, _) = reason { return seq }
        return nil
    }

    /// What is logged as an error and shown in `status`, when the start is not the cursor's.
    public func problem(lastSeq: UInt64, durableEnd: Int64) -> (message: String, detail: String)? {
        switch reason {
        case .saved, .new:
            return nil
        case .aheadOfLog(let seq, let offset):
            return ("sink cursor ahead of the event log",
                "cursor (seq \(seq), offset \(offset)) was ahead of the event log (last seq \(lastSeq), end \(durableEnd)); "
                    + "redelivering everything still in the log, new events continue after seq \(max(seq, lastSeq))")
        case .lost:
            return ("sink cursor missing for a known sink; redelivering the log",
                "its cursor file was missing; redelivering everything still in the log")
        }
    }
}
