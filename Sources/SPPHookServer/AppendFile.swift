// SPDX-License-Identifier: MIT
import Glibc

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
        return (POSIXAppendFile(path: path, fd: fd), created)
    }

    private init(path: String, fd: Int32) {
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
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = try sys("pread(\(path))") {
                buffer.withUnsafeMutableBytes { p in pread(fd, p.baseAddress! + got, count - got, off_t(offset) + off_t(got)) }
            }
            if n == 0 { break }
            got += n
        }
        buffer.removeSubrange(got...)
        return buffer
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

/// Makes a directory entry durable (after creating or truncating-by-rename in it).
func syncDirectory(_ path: String) {
    let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { return }
    fsync(fd)
    close(fd)
}

/// `mkdir -p`, with `mode` (default 0700) for the created levels.
func makeDirectories(_ path: String, mode: mode_t = 0o700) throws(IOError) {
    var current = path.hasPrefix("/") ? "" : "."
    for component in path.split(separator: "/") {
        current += "/" + component
        if mkdir(current, mode) != 0 && errno != EEXIST {
            throw IOError(errno: errno, function: "mkdir(\(current))")
        }
    }
}
