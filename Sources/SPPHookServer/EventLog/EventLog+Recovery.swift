// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX

extension EventLog {
    /// Scans the active segment (and recent rotated ones): finds the last sequence number
    /// and rebuilds the dedup index. With a checkpoint, only the log after the position it
    /// covers is read, and its index is completed from there.
    ///
    /// Only an unterminated last line is cut off: that is what a crash during a write leaves
    /// (the batch it belongs to was never acknowledged). The bytes cut off are kept in
    /// `events.jsonl.torn-<ms>` beside the log. A line with NUL bytes is not a complete line
    /// (``LineDamage``: a hole a failed write-back left): it is reported and passed over, and
    /// a record after its last NUL is read. Any other complete line that is not a readable
    /// record may hold an acknowledged event, so it is never cut: start-up stops with an
    /// error that says where it is, and nothing is changed.
    static func recover(
        file: any AppendFile, path: String, base: Int64, rotated: [LogDirectory.Segment], after checkpoint: DedupCheckpoint?,
        dedup: inout DedupIndex, now: Timestamp, logger: Logger
    ) throws(IOError) -> Recovery {
        var r = Recovery()
        r.lastSeq = checkpoint?.lastSeq ?? 0
        let from = checkpoint?.end ?? 0
        let cutoff = now.millisecondsSinceEpoch - dedup.windowMs
        recoverRotated(rotated, from: from, all: checkpoint != nil, cutoff: cutoff, into: &r, dedup: &dedup, logger: logger)
        let size = try file.size()
        let start = min(size, max(0, from - base))
        var goodEnd = start
        var damage: (offset: Int64, afterSeq: UInt64)?
        // Lines near the end get a full JSON check (with the depth stored data may have),
        // the rest the cheap prefix check, so start-up stays fast on a large log.
        let fullCheckFrom = max(0, size - (1 << 20))
        r.scannedBytes += size - start
        try forEachLine(of: file, from: start, size: size) { line, lineStart, parsed, holed in
            guard damage == nil else {
                r.validLinesAfterDamage += parsed == nil ? 0 : 1
                return
            }
            if holed > 0 {
                let hole = LineDamage(file: path, offset: lineStart - Int64(holed), bytes: holed)
                r.damagedLines += 1
                logger.error("the event log has a line with NUL bytes; skipped it",
                    metadata: ["file": "\(hole.file)", "offset": "\(hole.offset)", "damagedBytes": "\(hole.bytes)"])
                if parsed == nil {
                    goodEnd = lineStart + Int64(line.count) + 1
                    return
                }
            }
            if let parsed, parsed.seq > r.lastSeq,
                lineStart < fullCheckFrom || (try? JSONParser.parse(line, maxDepth: JSONParser.storedMaxDepth)) != nil
            {
                r.lines += 1
                r.lastSeq = parsed.seq
                goodEnd = lineStart + Int64(line.count) + 1
                remember(parsed, at: base + lineStart, in: &dedup, cutoff: cutoff)
            } else {
                damage = (lineStart, r.lastSeq)
            }
        }
        if let damage {
            throw IOError(errno: EUCLEAN, function: "\(path): the complete line at byte \(damage.offset) (after seq \(damage.afterSeq)) "
                + "is not a readable event record, and \(r.validLinesAfterDamage) record(s) follow it; it may hold acknowledged "
                + "events, so nothing was cut or changed. Inspect it (tail -c +\(damage.offset + 1) \(path) | head -n 3), "
                + "repair or move the damaged line aside by hand, then start again")
        }
        dedup.expire(now: now.millisecondsSinceEpoch)
        r.dedupEntries = dedup.count
        if goodEnd < size { try cutTornTail(of: file, path: path, from: goodEnd, size: size, now: now, into: &r, logger: logger) }
        return r
    }

    /// Cuts an unterminated last line off, after keeping it in `events.jsonl.torn-<ms>`.
    private static func cutTornTail(
        of file: any AppendFile, path: String, from goodEnd: Int64, size: Int64, now: Timestamp, into r: inout Recovery, logger: Logger
    ) throws(IOError) {
        r.tornBytes = size - goodEnd
        let side = "\(path).torn-\(now.millisecondsSinceEpoch)"
        let tail = try file.read(at: goodEnd, count: Int(size - goodEnd))
        try saveSideFile(side, tail)
        try DurableAppend.cut(file, to: goodEnd)
        r.savedTo = side
        logger.warning(
            "event log had an unterminated last line (a crash during a write, never acknowledged); cut it off and kept it aside",
            metadata: ["bytes": "\(r.tornBytes)", "savedTo": "\(side)"])
    }

    /// Rotated segments hold complete lines only. The newest gives the last seq when the
    /// active segment is empty; those written to within the window refill the dedup index
    /// (with a checkpoint, `all`: every one after its position).
    private static func recoverRotated(
        _ rotated: [LogDirectory.Segment], from: Int64, all: Bool, cutoff: Int64, into r: inout Recovery, dedup: inout DedupIndex,
        logger: Logger
    ) {
        for (i, segment) in rotated.enumerated() where segment.end > from
            && (all || i == rotated.count - 1 || segment.modified * 1000 >= cutoff)
        {
            do {
                let (old, _) = try POSIXAppendFile.open(segment.path)
                let start = max(0, from - segment.base)
                let size = try old.size()
                r.scannedBytes += max(0, size - start)
                try forEachLine(of: old, from: start, size: size) { _, lineStart, parsed, _ in
                    guard let parsed else { return }
                    r.lastSeq = max(r.lastSeq, parsed.seq)
                    remember(parsed, at: segment.base + lineStart, in: &dedup, cutoff: cutoff)
                }
            } catch {
                logger.warning("cannot read a rotated event log segment", metadata: ["segment": "\(segment.path)", "error": "\(error)"])
            }
        }
    }

    private static func remember(_ line: EventLogLine, at offset: Int64, in dedup: inout DedupIndex, cutoff: Int64) {
        guard dedup.isEnabled, line.receivedAt.millisecondsSinceEpoch >= cutoff, let key = DedupIndex.Key(id: line.id) else { return }
        dedup.remember(key, offset: offset, atMs: line.receivedAt.millisecondsSinceEpoch)
        // The table keeps the newest `maxEntries` as it fills, as while running: a log with
        // more events in the window would otherwise hold them all until the scan ends.
        if dedup.count > dedup.table.maxEntries { dedup.expire(now: cutoff + dedup.windowMs) }
    }

    /// Calls `body` with every newline-terminated line of `file` from `start` (a line
    /// boundary) on (without the newline), the line's offset, its record prefix when it has
    /// one, and how many damaged bytes (``LineDamage``) were passed over in front of it: then
    /// the line is what followed its last NUL byte. Reads 1 MiB at a time.
    private static func forEachLine(
        of file: any AppendFile, from start: Int64 = 0, size: Int64, _ body: (ArraySlice<UInt8>, Int64, EventLogLine?, Int) -> Void
    ) throws(IOError) {
        var offset = start
        var carry: [UInt8] = []
        var carryStart = start  // file offset of carry[0]
        while offset < size {
            let chunk = try file.read(at: offset, count: 1 << 20)
            if chunk.isEmpty { break }
            offset += Int64(chunk.count)
            carry.append(contentsOf: chunk)
            var start = 0
            // memchr: the byte-at-a-time `firstIndex(of:)` was a third of a scan's time.
            for nl in LogReader.newlines(in: carry, count: carry.count) {
                var line = carry[start..<nl]
                var parsed = EventLogLine(line)
                var holed = 0
                if parsed == nil {
                    (holed, line) = LineDamage.split(line)
                    if holed > 0 { parsed = EventLogLine(line) }
                }
                body(line, carryStart + Int64(start + holed), parsed, holed)
                start = nl + 1
            }
            carry.removeSubrange(0..<start)
            carryStart += Int64(start)
        }
    }

    private static func saveSideFile(_ path: String, _ bytes: [UInt8]) throws(IOError) {
        let fd = try sys("open(\(path))") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
        try sys("fsync(\(path))") { fsync(fd) }
        try syncDirectory(parentDirectory(path))
    }
}
