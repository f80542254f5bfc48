// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// Where a selection by seq or receive time starts in the log on disk (``LineSearch`` over
/// its segments), so `replay --from-seq`/`--since` and `try-sink --seq` read what they
/// return, not the log before it.
public enum LogSearch {
    /// A logical line boundary before which no event has `seq >= fromSeq` or was received
    /// at or after `since`. Receive times are taken to grow along the log: an event stored
    /// after the clock was set back may be passed over by `since`.
    public static func start(dataDir: String, fromSeq: UInt64, since: Timestamp?) -> Int64 {
        let dir = LogDirectory(dataDir)
        var segments = dir.rotated()
        var st = stat()
        let activeSize = stat(dir.activePath, &st) == 0 ? Int64(st.st_size) : 0
        segments.append(.init(base: dir.activeBase(), path: dir.activePath, size: activeSize, modified: 0))
        var start = segments.first?.base ?? 0
        if fromSeq > 1 { start = max(start, search(segments, target: Int64(clamping: fromSeq)) { Int64(clamping: $0.seq) }) }
        if let since { start = max(start, search(segments, target: since.millisecondsSinceEpoch) { $0.receivedAt.millisecondsSinceEpoch }) }
        return start
    }

    /// The segment whose first event is the last one below `target` holds the answer (or
    /// the answer is where the next one starts).
    private static func search(_ segments: [LogDirectory.Segment], target: Int64, key: (EventLogLine) -> Int64) -> Int64 {
        var chosen: (segment: LogDirectory.Segment, fd: Int32)?
        defer { if let chosen { close(chosen.fd) } }
        for s in segments {
            let fd = open(s.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            guard let first = probe(fd, at: 0, size: s.size, key: key) else {
                close(fd)
                continue
            }
            if first.key >= target {
                close(fd)
                break
            }
            if let previous = chosen { close(previous.fd) }
            chosen = (s, fd)
        }
        guard let (segment, fd) = chosen else { return segments.first?.base ?? 0 }
        let within = LineSearch.firstLine(atLeast: target, start: 0, end: segment.size) { probe(fd, at: $0, size: segment.size, key: key) }
        return segment.base + within
    }

    /// The first complete event line starting at or after `p` in an open segment of `size`
    /// bytes (lines that are not events are passed over).
    private static func probe(_ fd: Int32, at p: Int64, size: Int64, key: (EventLogLine) -> Int64) -> LineSearch.Line? {
        var start = p
        if p > 0 {
            // A line starts after the first newline at or after p - 1.
            guard let skipped = EventLog.readLine(fd, at: p - 1), p - 1 + Int64(skipped.count) < size else { return nil }
            start = p + Int64(skipped.count)
        }
        while start < size {
            guard let line = EventLog.readLine(fd, at: start), start + Int64(line.count) < size else { return nil }
            let next = start + Int64(line.count) + 1
            if let head = EventLogLine(line[...]) { return LineSearch.Line(start: start, next: next, key: key(head)) }
            start = next
        }
        return nil
    }
}
