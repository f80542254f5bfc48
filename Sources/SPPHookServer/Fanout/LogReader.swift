// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore

/// Reads `events.jsonl` forward from a position, never past the durable size, so a sink
/// only ever sees acknowledged events.
struct LogReader {
    let path: String
    private(set) var offset: Int64
    /// Records with `seq <= skipThrough` are passed over (a cursor's position).
    private(set) var skipThrough: UInt64
    private var fd: Int32 = -1

    init(path: String, offset: Int64, skipThrough: UInt64) {
        self.path = path
        self.offset = offset
        self.skipThrough = skipThrough
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    /// Complete lines between the current offset and `limit`, at most about `maxBytes` of them.
    mutating func read(upTo limit: Int64, maxBytes: Int = 1 << 20) throws(IOError) -> [LoggedEvent] {
        guard offset < limit else { return [] }
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
            // One line longer than maxBytes: read it whole next time.
            return try read(upTo: limit, maxBytes: maxBytes * 4)
        }
        offset += Int64(lineStart)
        return events
    }

    /// Puts `event` (and everything after it) back, to be read again.
    mutating func rewind(to event: LoggedEvent) {
        offset = event.start
        skipThrough = event.seq - 1
    }

    private func startsAtLineBoundary() throws(IOError) -> Bool {
        var byte: UInt8 = 0
        let o = offset - 1
        let n = try sys("pread(\(path))") { pread(fd, &byte, 1, off_t(o)) }
        return n == 1 && byte == 0x0A
    }
}
