// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookCore
package import SPPHookPOSIX
import Synchronization

extension EventLog {
    /// Makes the next seq follow `seq` when it is higher than the last one: a sink's cursor
    /// that is ahead of the log (history was lost) must never see its seqs issued again. The
    /// floor is recorded durably (`events.seq-floor`) before intake starts, so it holds
    /// across restarts even after the cursors have been reset.
    package func continueSeq(after seq: UInt64) throws(IOError) {
        guard seq > lastSeq else { return }
        try directory.storeSeqFloor(seq)
        state.withLock { $0.continueSeq(after: seq) }
        logger.error("event log continues after a sink's cursor", metadata: ["nextSeq": "\(seq + 1)"])
    }

    /// Checks the log on its own, once a second (not only when an event is written): a
    /// deleted `events.jsonl` is restored; after a failed write, the log is healthy again
    /// once its file syncs and its filesystem has room.
    func checkHealth() {
        writer.withLock { w in
            guard ensureLinked(&w), (try? Self.repairIfNeeded(&w, logger: logger)) != nil else { return }
            guard let failure = w.lastFailure else { return }
            var fs = statvfs()
            guard fstatvfs(w.file.descriptor, &fs) == 0, UInt64(fs.f_bavail) * UInt64(fs.f_frsize) >= Self.healthyFreeBytes,
                (try? w.file.sync()) != nil
            else { return }
            w.lastFailure = nil
            logger.notice("event log writable again", metadata: ["after": "\(failure)"])
        }
    }

    /// Free space below which a log that failed stays unhealthy.
    static var healthyFreeBytes: UInt64 { 4 << 20 }

    /// Writer locked. True when the active file still has a name. When it was deleted
    /// under us, its whole content (read through the open descriptor) goes into a new
    /// `events.jsonl`, synced, before anything more is acknowledged; false while that has
    /// not worked (the log then answers 503 and says why).
    func ensureLinked(_ w: inout Writer) -> Bool {
        var st = stat()
        guard fstat(w.file.descriptor, &st) == 0 else { return true }
        guard st.st_nlink == 0 else { return true }
        let restoring = path + ".restoring"
        do throws(IOError) {
            unlink(restoring)
            let (file, _) = try POSIXAppendFile.open(restoring)
            var offset: Int64 = 0
            while offset < w.durableSize {
                let chunk = try w.file.read(at: offset, count: min(1 << 20, Int(w.durableSize - offset)))
                if chunk.isEmpty { throw IOError(errno: EIO, function: "read(deleted events.jsonl)") }
                try file.append(chunk)
                offset += Int64(chunk.count)
            }
            try file.sync()
            // link, not rename: a file someone put at the path meanwhile is not ours to replace.
            try sys("link(\(path))") { link(restoring, path) }
            unlink(restoring)
            try syncDirectory(directory.directory)
            w.file = file
            w.lastFailure = nil
            logger.critical("events.jsonl was deleted while the daemon had it open; restored it from the open file",
                metadata: ["bytes": "\(w.durableSize)"])
            return true
        } catch {
            unlink(restoring)
            w.lastFailure = "events.jsonl was deleted and cannot be restored: \(error)"
            logger.critical("events.jsonl was deleted and cannot be restored; answering 503", metadata: ["error": "\(error)"])
            return false
        }
    }
}
