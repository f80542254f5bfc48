// SPDX-License-Identifier: MIT
package import Glibc
import Synchronization

/// The file operations the event log needs, behind a protocol so tests can inject a
/// failing disk (ENOSPC, EIO) without needing one.
public protocol AppendFile: AnyObject, Sendable {
    /// Current size in bytes.
    func size() throws(IOError) -> Int64
    /// Reads up to `count` bytes at `offset`.
    func read(at offset: Int64, count: Int) throws(IOError) -> [UInt8]
    /// Appends all of `bytes` at the end (may leave a partial write behind on error).
    func append(_ bytes: [UInt8]) throws(IOError)
    /// fdatasync.
    func sync() throws(IOError)
    func truncate(to size: Int64) throws(IOError)
    /// The open descriptor (rotation links it under a segment name; readers reopen it).
    var descriptor: Int32 { get }
}

/// An `O_APPEND` file descriptor.
public final class POSIXAppendFile: AppendFile {
    public let path: String
    private let fd: Int32
    public var descriptor: Int32 { fd }

    /// Opens (creating with mode 0600) `path` for appending.
    /// - Returns: the file and whether it was just created.
    public static func open(_ path: String) throws(IOError) -> (POSIXAppendFile, created: Bool) {
        var created = false
        var fd = Glibc.open(path, O_RDWR | O_APPEND | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            fd = try sys("open(\(path))") { Glibc.open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) }
            created = true
        } else if fd < 0 {
            throw IOError(errno: errno, function: "open(\(path))")
        }
        return (POSIXAppendFile(adopting: fd, path: path), created)
    }

    /// Takes over `fd` (closed with the file), opened for appending to `path`.
    package init(adopting fd: Int32, path: String) {
        self.path = path
        self.fd = fd
    }

    deinit { close(fd) }

    public func size() throws(IOError) -> Int64 {
        var st = stat()
        try sys("fstat(\(path))") { fstat(fd, &st) }
        return Int64(st.st_size)
    }

    public func read(at offset: Int64, count: Int) throws(IOError) -> [UInt8] {
        try readFully(fd, at: offset, count: count, path: path)
    }

    public func append(_ bytes: [UInt8]) throws(IOError) {
        try writeAll(fd, bytes, path: path)
    }

    public func sync() throws(IOError) {
        try sys("fdatasync(\(path))") { fdatasync(fd) }
    }

    public func truncate(to size: Int64) throws(IOError) {
        try sys("ftruncate(\(path))") { ftruncate(fd, off_t(size)) }
    }
}

/// Makes a directory's entries durable (after creating, renaming or linking in it). A
/// failure is an error: whatever depends on those entries is not durable yet.
package func syncDirectory(_ path: String) throws(IOError) {
    let fd = try sys("open(\(path))") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    defer { close(fd) }
    try sys("fsync(\(path))") { fsync(fd) }
}

/// The directory part of a path ("." for a bare name).
package func parentDirectory(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
}

/// `mkdir -p`, with `mode` (default 0700) for the created levels. Each level it creates
/// is made durable in its parent (a power cut must not take a directory that files we
/// acknowledged live in).
package func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(IOError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, mode) == 0 {
            try DurableEntries.sync(current, created: true)
        } else if errno == EEXIST {
            // It may exist only because an earlier attempt made it and failed to sync it.
            try DurableEntries.sync(current, created: false)
        } else {
            throw IOError(errno: errno, function: "mkdir(\(current))")
        }
    }
}

/// Names this process created whose directory sync failed. A later attempt finds the name
/// there (in memory) and must not take it as durable: a power cut could take it away, with
/// what the file held, while a cursor says it was delivered. Such a name is synced again
/// the next time it is met.
package enum DurableEntries {
    private static let pending = Mutex<Set<String>>([])

    /// Makes the entry of `path` durable: always when this call `created` it, else only if
    /// an earlier sync of it failed.
    package static func sync(_ path: String, created: Bool) throws(IOError) {
        if !created, !pending.withLock({ $0.contains(path) }) { return }
        do {
            try syncDirectory(parentDirectory(path))
        } catch {
            _ = pending.withLock { $0.insert(path) }
            throw error
        }
        _ = pending.withLock { $0.remove(path) }
    }
}

/// Opens `path` for appending (and reading its tail), creating it with `mode` when missing; a created file is made
/// durable in its directory before it is used.
package func openForAppend(_ path: String, mode: mode_t) throws(IOError) -> Int32 {
    var created = false
    var fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC)
    if fd < 0 {
        guard errno == ENOENT else { throw IOError(errno: errno, function: "open(\(path))") }
        fd = try sys("open(\(path))") { open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, mode) }
        created = true
    }
    do throws(IOError) {
        try DurableEntries.sync(path, created: created)
    } catch {
        close(fd)
        throw error
    }
    return fd
}

/// Cuts a JSON Lines file opened for appending back to its last complete line: what a crash
/// or a failed sync left after it (a partial line, NUL bytes from a lost extent) must not
/// run into the next line we append. Sink files are rewritten by redelivery, never read
/// for state, so the bytes cut off were never a delivery the cursor counts.
package func repairTail(_ fd: Int32, path: String) throws(IOError) {
    var st = stat()
    try sys("fstat(\(path))") { fstat(fd, &st) }
    var end = Int64(st.st_size)
    guard end > 0 else { return }
    var last: UInt8 = 0
    _ = try sys("pread(\(path))") { pread(fd, &last, 1, off_t(end - 1)) }
    guard last != 0x0A else { return }
    // Find the last newline, reading backwards in blocks.
    var buffer = [UInt8](repeating: 0, count: 65536)
    var keep: Int64 = 0
    search: while end > 0 {
        let start = max(0, end - Int64(buffer.count))
        let count = Int(end - start)
        let n = try sys("pread(\(path))") { buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(start)) } }
        for i in stride(from: n - 1, through: 0, by: -1) where buffer[i] == 0x0A {
            keep = start + Int64(i) + 1
            break search
        }
        end = start
    }
    try sys("ftruncate(\(path))") { ftruncate(fd, off_t(keep)) }
    try sys("fsync(\(path))") { fsync(fd) }
}
