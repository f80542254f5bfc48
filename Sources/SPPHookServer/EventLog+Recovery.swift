// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookCore

extension EventLog {
    /// Scans the whole log: finds the last sequence number, rebuilds the dedup index, and
    /// cuts off everything from the first line that is not a complete record (a torn write
    /// from a crash). The bytes cut off are kept in `events.jsonl.torn-<ms>` beside the log:
    /// they were never acknowledged, but nothing is destroyed silently.
    static func recover(
        file: any AppendFile, path: String, dedup: inout DedupIndex, now: Timestamp, logger: Logger
    ) throws(IOError) -> Recovery {
        var r = Recovery()
        let size = try file.size()
        var offset: Int64 = 0
        var carry: [UInt8] = []
        var carryStart: Int64 = 0  // file offset of carry[0]
        var goodEnd: Int64 = 0
        var damaged = false
        let cutoff = now.millisecondsSinceEpoch - dedup.windowMs
        // Torn writes can only be near the end: lines there get a full JSON check, the rest
        // the cheap prefix check, so start-up stays fast on a large log.
        let fullCheckFrom = max(0, size - (1 << 20))
        while offset < size {
            let chunk = try file.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            offset += Int64(chunk.count)
            carry.append(contentsOf: chunk)
            var start = 0
            while let nl = carry[start...].firstIndex(of: 0x0A) {
                let line = carry[start..<nl]
                let lineStart = carryStart + Int64(start)
                if let parsed = EventLogLine(line), parsed.seq > r.lastSeq,
                    lineStart < fullCheckFrom || (try? JSONParser.parse(line)) != nil
                {
                    if damaged {
                        r.validLinesAfterDamage += 1
                    } else {
                        r.lines += 1
                        r.lastSeq = parsed.seq
                        goodEnd = lineStart + Int64(line.count) + 1
                        if dedup.isEnabled, parsed.receivedAt.millisecondsSinceEpoch >= cutoff,
                            let key = DedupIndex.Key(id: parsed.id)
                        {
                            let category = EventCategory(rawValue: parsed.category) ?? .other
                            dedup.insert(key, .init(seq: parsed.seq, atMs: parsed.receivedAt.millisecondsSinceEpoch,
                                category: category, durable: true))
                        }
                    }
                } else {
                    damaged = true
                }
                start = nl + 1
            }
            carry.removeSubrange(0..<start)
            carryStart += Int64(start)
        }
        dedup.expire(now: now.millisecondsSinceEpoch)
        r.dedupEntries = dedup.count
        if goodEnd < size {
            r.tornBytes = size - goodEnd
            let side = "\(path).torn-\(now.millisecondsSinceEpoch)"
            let tail = try file.read(at: goodEnd, count: Int(size - goodEnd))
            try saveSideFile(side, tail)
            try file.truncate(to: goodEnd)
            try file.sync()
            r.savedTo = side
            logger.warning(
                "event log had an incomplete tail (a crash during a write); cut it off and kept it aside",
                metadata: ["bytes": "\(r.tornBytes)", "savedTo": "\(side)", "validLinesAfterDamage": "\(r.validLinesAfterDamage)"])
        }
        return r
    }

    private static func saveSideFile(_ path: String, _ bytes: [UInt8]) throws(IOError) {
        let fd = try sys("open(\(path))") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        try sys("fsync(\(path))") { fsync(fd) }
        if let slash = path.lastIndex(of: "/") { syncDirectory(String(path[..<slash])) }
    }
}
