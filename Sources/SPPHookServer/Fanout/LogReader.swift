// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore

/// Reads `events.jsonl` forward from a position, never past the durable size, so a sink
/// only ever sees acknowledged events. Lines are read in chunks, parsed once, and handed
/// out one at a time (`peek`/`pop`), so taking a few events per call stays cheap.
struct LogReader {
    let path: String
    /// Where the next chunk is read from.
    private(set) var offset: Int64
    /// Records with `seq <= skipThrough` are passed over (a cursor's position).
    private var skipThrough: UInt64
    /// The position after the last event handed out by `pop`: where a cursor may move.
    private(set) var consumed: CursorStore.Position
    private var pending: [LoggedEvent] = []
    private var pendingIndex = 0
    private var fd: Int32 = -1

    init(path: String, offset: Int64, skipThrough: UInt64) {
        self.path = path
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
            pending = try readChunk(upTo: limit)
            pendingIndex = 0
            if pending.isEmpty && offset >= limit { return nil }
            if pending.isEmpty { continue }
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

    /// Complete lines between the current offset and `limit`, at most about `maxBytes` of them.
    private mutating func readChunk(upTo limit: Int64, maxBytes: Int = 256 * 1024) throws(IOError) -> [LoggedEvent] {
        if fd < 0 {
            fd = try sys("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
        }
        let atBoundary = offset == 0 ? true : try startsAtLineBoundary()
        if !atBoundary {
            // A position inside a line (a log replaced under us): rescan, skipping by seq.
            offset = 0
        }
        let count = Int(min(Int64(maxBytes), limit - offset))
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let o = offset + Int64(got)
            let n = try sys("pread(\(path))") { buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(o)) } }
            if n == 0 { break }
            got += n
        }
        var events: [LoggedEvent] = []
        var lineStart = 0
        for i in 0..<got where buffer[i] == 0x0A {
            let line = buffer[lineStart..<i]
            let start = offset + Int64(lineStart)
            if let head = EventLogLine(line), head.seq > skipThrough {
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

    private func startsAtLineBoundary() throws(IOError) -> Bool {
        var byte: UInt8 = 0
        let o = offset - 1
        let n = try sys("pread(\(path))") { pread(fd, &byte, 1, off_t(o)) }
        return n == 1 && byte == 0x0A
    }
}
