// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import Synchronization

extension EventLog {
    /// Closes the active segment and starts a new one. Called with the writer locked,
    /// after a successful sync, so the closed segment ends on a complete, durable line.
    ///
    /// Order matters for crash safety: the old file gets its segment name first (then
    /// `activeBase()` derives the new base from it), `events.base` is written next, and the
    /// new `events.jsonl` comes last. A crash at any step leaves a directory from which
    /// start-up computes the right base. Returns true when a segment was closed.
    func rotate(_ w: inout Writer, externallyMoved: Bool) -> Bool {
        let newBase = w.base + w.durableSize
        let segment = directory.directory + "/" + LogDirectory.segmentName(base: w.base)
        do throws(IOError) {
            if externallyMoved && w.durableSize == 0 {
                // An empty file moved away: nothing to keep, just start a new one.
            } else if externallyMoved {
                // The file was renamed away (logrotate); give it our name too, through
                // its open descriptor, so sinks still find what they have not read.
                try sys("linkat(\(segment))") { linkat(AT_FDCWD, w.descriptorPath, AT_FDCWD, segment, AT_SYMLINK_FOLLOW) }
            } else {
                try sys("rename(\(segment))") { rename(path, segment) }
            }
            syncDirectoryOrDefer(&w)
            try directory.storeActiveBase(newBase)
            base.store(newBase, ordering: .releasing)
            let (file, _) = try POSIXAppendFile.open(path)
            syncDirectoryOrDefer(&w)
            let size = try file.size()
            if size != 0 {
                // logrotate's `create` leaves an empty file; anything else is not ours to append to.
                logger.critical("a non-empty events.jsonl appeared during rotation; appending after its bytes",
                    metadata: ["bytes": "\(size)"])
            }
            w.file = file
            w.base = newBase
            w.durableSize = size
            w.rotateAfter = 0
            logger.info("event log rotated", metadata: ["segment": "\(segment)", "base": "\(newBase)"])
            return true
        } catch {
            // Keep appending to the current file; try again in a minute.
            w.rotateAfter = monotonicSeconds() + 60
            logger.error("event log rotation failed; will try again", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Syncs the log's directory after a rotation step; when that fails, nothing more is
    /// acknowledged until a later sync of it succeeds (the next batch tries first).
    private func syncDirectoryOrDefer(_ w: inout Writer) {
        do throws(IOError) {
            try syncDirectory(directory.directory)
        } catch {
            w.directoryUnsynced = true
            logger.error("cannot sync the event log's directory; holding acknowledgements until it syncs", metadata: ["error": "\(error)"])
        }
    }

    /// SIGUSR1, after an external tool (logrotate) renamed `events.jsonl`: links the open
    /// file under its segment name and starts a new `events.jsonl`. Nothing to do when
    /// the file was not moved.
    package func reopen() {
        let rotated: Bool = writer.withLock { w in
            var mine = stat(), current = stat()
            guard fstat(w.file.descriptor, &mine) == 0 else { return false }
            if stat(path, &current) == 0 && current.st_ino == mine.st_ino && current.st_dev == mine.st_dev {
                logger.notice("reopen requested, but events.jsonl was not moved; nothing to do")
                return false
            }
            if access(path, F_OK) == 0 && current.st_size > 0 {
                logger.error("reopen refused: events.jsonl was replaced by a non-empty file; still appending to the old one")
                return false
            }
            return rotate(&w, externallyMoved: true)
        }
        if rotated { applyRetention() }
    }

    /// Deletes rotated segments that the retention settings let go and no sink needs.
    package func applyRetention(now: Int64? = nil) {
        let now = now ?? Int64(time(nil))
        guard settings.keepFiles != nil || settings.keepDays != nil else { return }
        let limit = floor.withLock { $0 }()
        for s in LogRetention.expired(directory.rotated(), retention: settings, floor: limit, now: now) {
            if unlink(s.path) == 0 {
                logger.info("deleted an old event log segment", metadata: ["segment": "\(s.path)", "bytes": "\(s.size)"])
            } else {
                logger.error("cannot delete an old event log segment", metadata: ["segment": "\(s.path)", "errno": "\(errno)"])
            }
        }
    }
}
