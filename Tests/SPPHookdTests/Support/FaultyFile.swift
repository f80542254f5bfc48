// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Synchronization

/// Wraps a real append file and injects faults and delays, so the event log's failure
/// paths (ENOSPC mid-write, EIO on sync) and group commit can be tested deterministically.
final class FaultyFile: AppendFile {
    struct Faults {
        /// Fail the next append after writing this many of its bytes (ENOSPC).
        var failAppendAfter: Int?
        var failSync = false
        /// The outcomes of the next syncs, one taken per sync: true fails it (EIO), as a disk
        /// that fails one write-back does.
        var nextSyncsFail: [Bool] = []
        var failTruncate = false
        var syncDelayMicroseconds: UInt32 = 0
        /// Runs inside the next sync (once), before it reaches the disk: a test holds it there.
        var duringNextSync: (@Sendable () -> Void)?
    }

    let inner: any AppendFile
    let faults = Mutex(Faults())
    let syncs = Mutex(0)

    init(_ inner: any AppendFile) {
        self.inner = inner
    }

    func size() throws(IOError) -> Int64 { try inner.size() }
    func read(at offset: Int64, count: Int) throws(IOError) -> [UInt8] { try inner.read(at: offset, count: count) }
    func truncate(to size: Int64) throws(IOError) {
        if faults.withLock({ $0.failTruncate }) { throw IOError(errno: EIO, function: "ftruncate") }
        try inner.truncate(to: size)
    }
    var descriptor: Int32 { inner.descriptor }

    func append(_ bytes: [UInt8]) throws(IOError) {
        let failAfter = faults.withLock { f -> Int? in
            defer { f.failAppendAfter = nil }
            return f.failAppendAfter
        }
        if let n = failAfter {
            try inner.append(Array(bytes.prefix(n)))
            throw IOError(errno: ENOSPC, function: "write")
        }
        try inner.append(bytes)
    }

    func sync() throws(IOError) {
        let (f, failOnce) = faults.withLock { f in
            defer {
                f.duringNextSync = nil
                if !f.nextSyncsFail.isEmpty { f.nextSyncsFail.removeFirst() }
            }
            return (f, f.nextSyncsFail.first ?? false)
        }
        f.duringNextSync?()
        if f.syncDelayMicroseconds > 0 { usleep(f.syncDelayMicroseconds) }
        syncs.withLock { $0 += 1 }
        if f.failSync || failOnce { throw IOError(errno: EIO, function: "fdatasync") }
        try inner.sync()
    }
}
