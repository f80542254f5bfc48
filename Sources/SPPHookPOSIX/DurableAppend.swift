// SPDX-License-Identifier: MIT
import Glibc
import Synchronization

/// The one rule for every file we append to and sync: never build on bytes whose sync failed.
///
/// When Linux fails to write a file's dirty pages back, it reports the error once, may mark
/// those pages clean, and keeps counting them in the file's size. A later successful sync
/// then persists the file with a hole where they were: zeros after a power cut, inside what
/// should be a line ("fsyncgate", PostgreSQL 2018). So after a failed `fdatasync` the file is
/// cut back to the length it last synced successfully, that is synced, and the bytes are
/// written again from the caller's own copy (once; a second failure is the caller's to
/// report). A file that could not be cut back is remembered as doubtful, by inode, and is
/// cut back before anything else is appended to it, whoever opens it next in this process.
package enum DurableAppend {
    /// Why an append failed, and what the file holds now.
    package enum Failure: Error, CustomStringConvertible {
        /// The file ends again where it was last synced; nothing of these bytes remains.
        case cutBack(IOError)
        /// Cutting back failed too: the file must be cut to the synced length before more is appended.
        case doubtful(IOError)

        package var ioError: IOError {
            switch self {
            case .cutBack(let e), .doubtful(let e): e
            }
        }

        package var description: String { "\(ioError)" }
    }

    /// How many times a batch is written: once, and again after a failed sync was cut back.
    package static let attempts = 2

    /// Appends `bytes` to `file`, whose first `synced` bytes are durable, and syncs them.
    /// On success the durable length is `synced + bytes.count`.
    /// A failed write (ENOSPC) is cut back and reported at once: writing again would fail alike.
    package static func append(_ bytes: [UInt8], to file: any AppendFile, synced: Int64) throws(Failure) {
        var attempt = 1
        while true {
            do throws(IOError) {
                try file.append(bytes)
            } catch {
                throw undo(file, to: synced, after: error)
            }
            do throws(IOError) {
                try file.sync()
                return
            } catch {
                let failure = undo(file, to: synced, after: error)
                guard case .cutBack = failure, attempt < attempts else { throw failure }
            }
            attempt += 1
        }
    }

    /// Cuts a failed append back: `.cutBack(failure)` when that worked, `.doubtful(failure)`
    /// when not (either way with the append's own failure, which is what went wrong).
    private static func undo(_ file: any AppendFile, to synced: Int64, after failure: IOError) -> Failure {
        do throws(IOError) {
            try cut(file, to: synced)
        } catch {
            return .doubtful(failure)
        }
        return .cutBack(failure)
    }

    /// Appends to a file that keeps no synced length of its own (sink outputs, dead letters,
    /// the sink registry): what it holds when opened counts as synced, unless an earlier
    /// append in this process could not cut it back; then it is cut back first.
    package static func append(_ bytes: [UInt8], to file: any AppendFile) throws(IOError) {
        let id = try FileID(file)
        if let length = doubtful.withLock({ $0[id] }) {
            try cut(file, to: length)
            _ = doubtful.withLock { $0.removeValue(forKey: id) }
        }
        let synced = try file.size()
        do throws(Failure) {
            try append(bytes, to: file, synced: synced)
        } catch {
            if case .doubtful = error { doubtful.withLock { $0[id] = synced } }
            throw error.ioError
        }
    }

    /// Cuts `file` back to `length` and makes that durable.
    package static func cut(_ file: any AppendFile, to length: Int64) throws(IOError) {
        try file.truncate(to: length)
        try file.sync()
    }

    /// A file by device and inode: the same file under any name, or after a rename.
    package struct FileID: Hashable {
        package var device: UInt64
        package var inode: UInt64

        package init(_ file: any AppendFile) throws(IOError) {
            var st = stat()
            try sys("fstat") { fstat(file.descriptor, &st) }
            (device, inode) = (UInt64(st.st_dev), UInt64(st.st_ino))
        }
    }

    /// Files whose cut back failed, with the length to cut them back to.
    private static let doubtful = Mutex<[FileID: Int64]>([:])
}
