// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX

/// Where a reader finds the segments of the log: the running ``EventLog``, or the files
/// as they are on disk (``OfflineLog``, for tools beside the daemon).
protocol LogSource: Sendable {
    var directory: LogDirectory { get }
    /// The logical offset where the active segment starts now.
    var activeBase: Int64 { get }
    /// Opens the active segment for reading, with its base.
    func openActive() throws(IOError) -> (fd: Int32, base: Int64)
}

extension EventLog: LogSource {}

/// The log's files as they are on disk, for commands that run beside (or without) the
/// daemon: each question looks at the directory again, so rotations are followed.
public struct OfflineLog: LogSource {
    let directory: LogDirectory

    public init(dataDir: String) {
        directory = LogDirectory(dataDir)
    }

    var activeBase: Int64 { directory.activeBase() }

    /// The logical end of what is on disk now (may end inside a line being written).
    public var end: Int64 { directory.end() }

    /// Opens `events.jsonl`; the base is read before and after, so a rotation in between
    /// cannot pair the new file with the old base.
    func openActive() throws(IOError) -> (fd: Int32, base: Int64) {
        let path = directory.activePath
        var gap: (watch: DirectoryWatch, deadline: Double)?
        while true {
            let before = activeBase
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 && errno == ENOENT {
                // Between a rotation's rename and the new file: wait for it (a second at
                // most). After that the file is really gone (moved while no daemon runs).
                guard let (watch, deadline) = gap else {
                    gap = (DirectoryWatch(directory.directory), monotonicSeconds() + 1)
                    continue  // look once more: it may have appeared before the watch began
                }
                let left = deadline - monotonicSeconds()
                if left > 0 {
                    watch.wait(seconds: left)
                    continue
                }
            }
            if fd < 0 { throw IOError(errno: errno, function: "open(\(path))") }
            if activeBase == before { return (fd, before) }
            close(fd)
        }
    }
}

/// Reads the log forward from a logical position, across segments, never past a limit
/// (the durable end), so a sink only ever sees acknowledged events. Lines are read in
/// chunks, parsed once, and handed out one at a time (`peek`/`pop`), so taking a few
/// events per call stays cheap.
struct LogReader {
    let source: any LogSource
    /// Where the next chunk is read from (logical).
    private(set) var offset: Int64
    /// The rotated segments as last listed.
    private var knownSegments: [LogDirectory.Segment] = []
    /// Records with `seq <= skipThrough` are passed over (a cursor's position).
    private var skipThrough: UInt64
    /// The position after the last event handed out by `pop`: where a cursor may move.
    private(set) var consumed: CursorStore.Position
    /// Bytes jumped over because retention had deleted the segment holding them.
    private(set) var skippedBytes: Int64 = 0
    /// Lines with NUL bytes read since the owner last took them (``takeDamage()``).
    private var damage: [LineDamage] = []
    private var pending: [LoggedEvent] = []
    private var pendingIndex = 0
    private var fd: Int32 = -1
    private var segmentBase: Int64 = 0
    /// The open segment's file, for reports.
    private var segmentPath = ""
    /// The open segment's logical end; nil while it is the active (growing) one.
    private var segmentEnd: Int64?

    init(source: any LogSource, offset: Int64, skipThrough: UInt64) {
        self.source = source
        self.offset = offset
        self.skipThrough = skipThrough
        self.consumed = CursorStore.Position(seq: skipThrough, offset: offset)
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// True when events may remain before `limit` (buffered, or not yet read).
    func hasMore(before limit: Int64) -> Bool {
        pendingIndex < pending.count || offset < limit
    }

    /// The next event (without taking it), reading up to `limit` as needed.
    mutating func peek(upTo limit: Int64) throws(IOError) -> LoggedEvent? {
        while pendingIndex == pending.count {
            guard offset < limit else { return nil }
            let before = offset
            pending = try readChunk(upTo: limit)
            pendingIndex = 0
            if pending.isEmpty && offset == before { return nil }  // nothing complete to read yet
        }
        return pending[pendingIndex]
    }

    /// Takes the event `peek` returned.
    mutating func pop() {
        let e = pending[pendingIndex]
        pendingIndex += 1
        consumed = CursorStore.Position(seq: e.seq, offset: e.end)
        if pendingIndex == pending.count {
            // Past non-event bytes at the end of the chunk too.
            consumed.offset = max(consumed.offset, offset)
        }
    }

    /// Opens the segment that holds `offset`, moving `offset` forward over deleted segments.
    private mutating func openSegment() throws(IOError) {
        while true {
            let active = source.activeBase
            if offset >= active {
                let (fd, base) = try source.openActive()
                guard base <= offset else {  // rotated in between: the offset is in a closed segment now
                    Glibc.close(fd)
                    continue
                }
                (self.fd, segmentBase, segmentEnd, segmentPath) = (fd, base, nil, source.directory.activePath)
                return
            }
            // Closed segments never change (only retention deletes them): the listing is kept
            // and read again only when it does not cover the offset, so catching up across
            // many segments lists the directory once, not once per segment.
            let cached = knownSegments.last(where: { $0.base <= offset && offset < $0.end })
            if cached == nil { knownSegments = source.directory.rotated() }
            guard let segment = cached ?? knownSegments.last(where: { $0.base <= offset }), offset < segment.end else {
                let next = knownSegments.first(where: { $0.base > offset })?.base ?? active
                skippedBytes += next - offset
                offset = next
                continue
            }
            let fd = open(segment.path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if errno == ENOENT {  // deleted meanwhile: look again
                    knownSegments = []
                    continue
                }
                throw IOError(errno: errno, function: "open(\(segment.path))")
            }
            (self.fd, segmentBase, segmentEnd, segmentPath) = (fd, segment.base, segment.end, segment.path)
            return
        }
    }

    /// The end of what may be read from the open segment: the limit, or the segment's end
    /// once it is closed (it may have been rotated since it was opened).
    private mutating func readableEnd(limit: Int64) throws(IOError) -> Int64 {
        if segmentEnd == nil && source.activeBase > segmentBase {
            var st = stat()
            try sys("fstat(log segment)") { fstat(fd, &st) }
            segmentEnd = segmentBase + Int64(st.st_size)
        }
        return min(limit, segmentEnd ?? limit)
    }

    /// Complete lines between the current offset and `limit`, at most about `maxBytes` of them.
    private mutating func readChunk(upTo limit: Int64, maxBytes: Int = 256 * 1024) throws(IOError) -> [LoggedEvent] {
        if fd < 0 { try openSegment() }
        var end = try readableEnd(limit: limit)
        while let segmentEnd, offset >= segmentEnd {
            // Finished a closed segment: on to the next.
            close()
            try openSegment()
            end = try readableEnd(limit: limit)
        }
        if offset > segmentBase, try !startsAtLineBoundary() {
            // A position inside a line (a log replaced under us): rescan the segment, skipping by seq.
            offset = segmentBase
        }
        let count = Int(min(Int64(maxBytes), end - offset))
        guard count > 0 else { return [] }
        let buffer = try readFully(fd, at: offset - segmentBase, count: count, path: "log segment")
        let got = buffer.count
        var events: [LoggedEvent] = []
        var lineStart = 0
        for i in Self.newlines(in: buffer, count: got) {
            var line = buffer[lineStart..<i]
            var start = offset + Int64(lineStart)
            var head = EventLogLine(line)
            if head == nil {
                // Not a record: a line with a hole in it is reported, and a record written
                // after the hole is still read.
                let (damaged, rest) = LineDamage.split(line)
                if damaged > 0 {
                    damage.append(LineDamage(file: segmentPath, offset: start - segmentBase, bytes: damaged))
                    (line, start, head) = (rest, start + Int64(damaged), EventLogLine(rest))
                }
            }
            if let head, head.seq > skipThrough {
                events.append(LoggedEvent(line: Array(line), start: start, end: offset + Int64(i) + 1, head: head))
                skipThrough = head.seq
            }
            lineStart = i + 1
        }
        if lineStart == 0 && got == count && count == maxBytes {
            // One line longer than maxBytes: read it whole.
            return try readChunk(upTo: limit, maxBytes: maxBytes * 4)
        }
        offset += Int64(lineStart)
        if events.isEmpty { consumed.offset = max(consumed.offset, offset) }
        return events
    }

    /// The lines with NUL bytes read since the last call, for the owner to report.
    mutating func takeDamage() -> [LineDamage] {
        defer { damage = [] }
        return damage
    }

    /// Where the newlines are in the first `count` bytes (memchr: a byte-at-a-time loop was a
    /// fifth of a replay's time).
    static func newlines(in buffer: [UInt8], count: Int) -> [Int] {
        var result: [Int] = []
        buffer.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var p = 0
            while p < count, let hit = memchr(base + p, 0x0A, count - p) {
                let i = base.distance(to: UnsafeRawPointer(hit))
                result.append(i)
                p = i + 1
            }
        }
        return result
    }

    private func startsAtLineBoundary() throws(IOError) -> Bool {
        var byte: UInt8 = 0
        let o = offset - segmentBase - 1
        let n = try sys("pread(log segment)") { pread(fd, &byte, 1, off_t(o)) }
        return n == 1 && byte == 0x0A
    }
}
