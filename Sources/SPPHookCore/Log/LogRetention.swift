// SPDX-License-Identifier: MIT

/// A segment of the event log: where it starts in the logical log, its file, its size, and
/// when it was last written (the time it was rotated).
public struct LogSegment: Sendable, Equatable {
    public var base: Int64
    public var path: String
    public var size: Int64
    /// Last modification (seconds since the epoch).
    public var modified: Int64
    public var end: Int64 { base + size }

    public init(base: Int64, path: String, size: Int64, modified: Int64) {
        (self.base, self.path, self.size, self.modified) = (base, path, size, modified)
    }
}

/// Which rotated segments retention removes (`log.keepFiles`, `log.keepDays`).
public enum LogRetention {
    /// The rotated segments (oldest first) to remove now: beyond the newest `keepFiles`, or
    /// last written more than `keepDays` ago, but never one holding bytes at or after
    /// `floor` (the oldest position a sink cursor still needs).
    public static func expired(
        _ segments: [LogSegment], retention: DaemonConfig.LogSettings, floor: Int64, now: Int64
    ) -> [LogSegment] {
        var doomed: [LogSegment] = []
        for (i, s) in segments.enumerated() {
            let newerCount = segments.count - 1 - i
            let tooMany = retention.keepFiles.map { newerCount >= $0 } ?? false
            let tooOld = retention.keepDays.map { now - s.modified > Int64($0) * 86400 } ?? false
            guard tooMany || tooOld else { continue }
            guard s.end <= floor else { break }  // this and every later segment is still needed
            doomed.append(s)
        }
        return doomed
    }
}
