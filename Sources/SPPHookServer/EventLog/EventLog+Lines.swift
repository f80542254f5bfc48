// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX

/// Single lines of the log read by position: a dedup candidate's original, and the line a
/// checkpoint's position ends.
extension EventLog {
    /// The event a redelivery duplicates: the one whose line starts at `offset`, when its id
    /// is `key`; nil otherwise (then the redelivery is stored as a new event).
    func original(at offset: Int64, key: DedupIndex.Key) -> DedupIndex.Original? {
        // A rotation between choosing the file and reading it: look again, once.
        for _ in 0..<2 {
            let base = activeBase
            let line = Self.line(at: offset, directory: directory, activeBase: base)
            guard activeBase == base else { continue }
            guard let line, let parsed = EventLogLine(line[...]), DedupIndex.Key(id: parsed.id) == key else { return nil }
            return .init(seq: parsed.seq, category: EventCategory(rawValue: parsed.category) ?? .other)
        }
        return nil
    }

    /// The line that starts at the logical `offset`, without its newline.
    static func line(at offset: Int64, directory: LogDirectory, activeBase: Int64) -> [UInt8]? {
        guard let (fd, start) = open(holding: offset, directory: directory, activeBase: activeBase) else { return nil }
        defer { close(fd) }
        return readLine(fd, at: start)
    }

    /// The bytes of an open file from `start` to the next newline (without it); nil when
    /// none follows (the end of the file, or a read error).
    static func readLine(_ fd: Int32, at start: Int64) -> [UInt8]? {
        var buffer: [UInt8] = []
        var want = 4096
        while buffer.count < maxLine {
            guard let chunk = try? readFully(fd, at: start + Int64(buffer.count), count: want, path: "event log"), !chunk.isEmpty
            else { return nil }
            let from = buffer.count
            buffer.append(contentsOf: chunk)
            if let nl = buffer[from...].firstIndex(of: 0x0A) { return Array(buffer[..<nl]) }
            want = min(want * 4, 1 << 20)
        }
        return nil
    }

    /// The line that ends (with its newline) at the logical `end`, without the newline.
    static func lineEnding(at end: Int64, directory: LogDirectory, activeBase: Int64) -> [UInt8]? {
        guard end > 0, let (fd, last) = open(holding: end - 1, directory: directory, activeBase: activeBase) else { return nil }
        defer { close(fd) }
        guard (try? readFully(fd, at: last, count: 1, path: "event log")) == [0x0A] else { return nil }
        var window: Int64 = 4096
        while window <= Int64(maxLine) {
            let from = max(0, last - window)
            guard let bytes = try? readFully(fd, at: from, count: Int(last - from), path: "event log"), bytes.count == Int(last - from)
            else { return nil }
            if let nl = bytes.lastIndex(of: 0x0A) { return Array(bytes[(nl + 1)...]) }
            if from == 0 { return bytes }
            window *= 4
        }
        return nil
    }

    /// Longer than any line the log holds (`limits.maxBodyBytes` is at most 256 MiB).
    private static let maxLine = 300 << 20

    /// Opens the segment holding the logical `offset`; returns the descriptor and the
    /// offset within that file.
    private static func open(holding offset: Int64, directory: LogDirectory, activeBase: Int64) -> (Int32, Int64)? {
        if offset >= activeBase {
            let fd = Glibc.open(directory.activePath, O_RDONLY | O_CLOEXEC)
            if fd >= 0 { return (fd, offset - activeBase) }
            // Between a rotation's rename and the new events.jsonl: the file has its segment name.
        }
        guard let s = directory.rotated().last(where: { $0.base <= offset && offset < $0.end }) else { return nil }
        let fd = Glibc.open(s.path, O_RDONLY | O_CLOEXEC)
        return fd < 0 ? nil : (fd, offset - s.base)
    }
}
