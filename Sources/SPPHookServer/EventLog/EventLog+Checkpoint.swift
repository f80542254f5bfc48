// SPDX-License-Identifier: MIT
import CShims
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// `dedup.checkpoint`: the dedup index and the log position it covers, so start-up reads
/// the index and the log after that position, not the whole log (see ``DedupCheckpoint``).
/// Written periodically, on rotation and on stop, off the writer's queue; a missing, torn,
/// corrupt or stale one is not used, and start-up reads the whole log as before.
extension EventLog {
    enum CheckpointLoad {
        case loaded(DedupTable, DedupCheckpoint)
        case missing
        case refused(String)
    }

    /// Writes a checkpoint soon, on its own queue.
    func scheduleCheckpoint() {
        checkpointQueue.async { self.writeCheckpoint() }
    }

    /// Writes a checkpoint now (after queued ones): on stop, once intake has drained.
    package func checkpointNow() {
        checkpointQueue.sync { self.writeCheckpoint() }
    }

    /// Saves the index atomically (temporary file, fsync, rename, fsync of the directory).
    /// Skipped when nothing was stored since the last one. The snapshot shares the index's
    /// storage, so taking it under the lock copies nothing but the chunk list.
    private func writeCheckpoint() {
        let (entries, covered, windowMs) = state.withLock { s in (s.dedup.table.entries, s.covered, s.dedup.windowMs) }
        if checkpointed.withLock({ $0 }) == covered.end { return }
        let cp = DedupCheckpoint(end: covered.end, lastSeq: covered.seq, windowMs: windowMs,
            writtenAtMs: clock.now().millisecondsSinceEpoch, count: entries.count)
        do throws(IOError) {
            try Self.writeCheckpointFile(directory.checkpointPath, cp, entries, directory: directory.directory)
            checkpointed.withLock { $0 = covered.end }
        } catch {
            logger.warning("cannot save the dedup checkpoint; the next start reads more of the event log",
                metadata: ["error": "\(error)"])
        }
    }

    static func writeCheckpointFile(_ path: String, _ cp: DedupCheckpoint, _ entries: DedupTable.Entries, directory: String)
        throws(IOError)
    {
        let tmp = path + ".tmp"
        let fd = try sys("open(\(tmp))") { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        var closed = false
        defer { if !closed { close(fd) } }
        var checksum = DedupCheckpoint.Checksum()
        var buffer = cp.header
        buffer.reserveCapacity(1 << 20)
        func flush() throws(IOError) {
            checksum.add(buffer[...])
            try writeAll(fd, buffer, path: tmp)
            buffer.removeAll(keepingCapacity: true)
        }
        for e in entries {
            DedupCheckpoint.encode(CollectionOfOne(e), into: &buffer)
            if buffer.count >= 1 << 20 { try flush() }
        }
        try flush()
        DedupCheckpoint.put(checksum.final, &buffer)
        try writeAll(fd, buffer, path: tmp)
        try sys("fsync(\(tmp))") { fsync(fd) }
        closed = true
        try sys("close(\(tmp))") { close(fd) }
        try sys("rename(\(tmp))") { rename(tmp, path) }
        try syncDirectory(directory)
    }

    /// Reads and checks `dedup.checkpoint` against the log as it is on disk.
    static func loadCheckpoint(
        directory: LogDirectory, rotated: [LogDirectory.Segment], active: any AppendFile, activeBase: Int64, windowMs: Int64
    ) -> CheckpointLoad
    {
        let path = directory.checkpointPath
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { return errno == ENOENT ? .missing : .refused("cannot open \(path): errno \(errno)") }
        defer { close(fd) }
        do throws(IOError) {
            var st = stat()
            try sys("fstat(\(path))") { fstat(fd, &st) }
            let head = try readExactly(fd, at: 0, count: DedupCheckpoint.headerSize)
            let cp: DedupCheckpoint
            do throws(DedupCheckpoint.Invalid) {
                cp = try DedupCheckpoint(header: head[...], fileSize: Int64(st.st_size))
            } catch {
                return .refused("\(error)")
            }
            guard cp.windowMs >= windowMs else {
                return .refused("it was written with a shorter dedupWindowSeconds (\(cp.windowMs / 1000))")
            }
            if let stale = try staleness(of: cp, directory: directory, oldest: rotated.first?.base ?? activeBase, active: active,
                activeBase: activeBase)
            {
                return .refused("stale: \(stale)")
            }
            return try readEntries(fd, cp, header: head, enabled: windowMs > 0, windowMs: windowMs)
        } catch {
            return .refused("cannot read it: \(error)")
        }
    }

    /// Why `cp` does not describe this log; nil when the line ending at its position is the
    /// one it names.
    private static func staleness(
        of cp: DedupCheckpoint, directory: LogDirectory, oldest: Int64, active: any AppendFile, activeBase: Int64
    ) throws(IOError) -> String? {
        let end = activeBase + (try active.size())
        guard cp.end <= end else { return "it covers the log up to \(cp.end), but the log ends at \(end)" }
        guard cp.end >= oldest else { return "it covers the log up to \(cp.end), before the oldest segment (\(oldest))" }
        if cp.lastSeq == 0 {
            return cp.end == oldest ? nil : "it names no line, but the log has lines before \(cp.end)"
        }
        guard let line = lineEnding(at: cp.end, directory: directory, activeBase: activeBase),
            let parsed = EventLogLine(line[...])
        else { return "no event line ends at \(cp.end)" }
        return parsed.seq == cp.lastSeq ? nil : "the line ending at \(cp.end) has seq \(parsed.seq), not \(cp.lastSeq)"
    }

    /// Bytes of entries read (and decoded) at a time: small next to the index they fill.
    private static let readSize = 1 << 18

    private static func readEntries(_ fd: Int32, _ cp: DedupCheckpoint, header: [UInt8], enabled: Bool, windowMs: Int64)
        throws(IOError) -> CheckpointLoad
    {
        var table = DedupTable(windowSeconds: Int(windowMs / 1000))
        // A checkpoint holds about `maxEntries` (a batch's inserts can pass it until the next
        // expiry); far more would overflow the numbers the table's slots give entries.
        guard cp.count <= table.restoreLimit else {
            return .refused("it holds \(cp.count) entries, more than a dedup table takes back (\(table.restoreLimit))")
        }
        var checksum = DedupCheckpoint.Checksum()
        checksum.add(header[...])
        var offset = Int64(DedupCheckpoint.headerSize)
        let entriesEnd = offset + Int64(cp.count * DedupCheckpoint.entrySize)
        var index = 0
        var bad: Int?
        var decoded: [DedupTable.Entry] = []
        decoded.reserveCapacity(readSize / DedupCheckpoint.entrySize)
        while offset < entriesEnd {
            let chunk = try readExactly(fd, at: offset, count: Int(min(Int64(readSize), entriesEnd - offset)))
            checksum.add(chunk[...])
            decoded.removeAll(keepingCapacity: true)
            DedupCheckpoint.decode(chunk[...]) { e in
                if e.offset >= cp.end { bad = bad ?? index }
                index += 1
                decoded.append(e)
            }
            if enabled && bad == nil { table.restore(contentsOf: decoded) }
            offset += Int64(chunk.count)
        }
        let trailer = try readExactly(fd, at: offset, count: 8)
        guard DedupCheckpoint.word(trailer[...], at: 0) == checksum.final else { return .refused("\(DedupCheckpoint.Invalid.checksum)") }
        if let bad { return .refused("\(DedupCheckpoint.Invalid.entry(bad))") }
        table.finishRestoring { POSIXThread.both(name: "dedup-restore", $0, $1) }
        // What reading it allocated and freed (buffers a few hundred KB each) stays resident
        // in malloc's free lists otherwise, as idle RSS that grows with the index.
        spp_release_free_memory()
        return .loaded(table, cp)
    }

    private static func readExactly(_ fd: Int32, at offset: Int64, count: Int) throws(IOError) -> [UInt8] {
        let bytes = try readFully(fd, at: offset, count: count, path: "dedup.checkpoint")
        guard bytes.count == count else { throw IOError(errno: EIO, function: "pread(dedup.checkpoint): short file") }
        return bytes
    }
}
