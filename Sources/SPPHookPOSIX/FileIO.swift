// SPDX-License-Identifier: MIT
import Glibc

/// Reads a whole (small) file, such as the configuration.
public func readWholeFile(_ path: String, limit: Int = 16 << 20) throws(IOError) -> [UInt8] {
    let fd = try sys("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while bytes.count <= limit {
        let n = try sys("read(\(path))") { buffer.withUnsafeMutableBytes { p in read(fd, p.baseAddress, p.count) } }
        if n == 0 { return bytes }
        bytes.append(contentsOf: buffer[0..<n])
    }
    throw IOError(errno: EFBIG, function: "read(\(path))")
}

/// Up to `count` bytes of `fd` at `offset`, continuing after short reads (fewer only at the
/// end of the file). `path` names the file in errors.
package func readFully(_ fd: Int32, at offset: Int64, count: Int, path: String) throws(IOError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let g = got
        // The buffer is not empty (got < count), so it has a base address.
        let n = try sys("pread(\(path))") { buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + g, count - g, off_t(offset) + off_t(g)) } }
        if n == 0 { break }
        got += n
    }
    buffer.removeSubrange(got...)
    return buffer
}

/// Writes all of `bytes` to `fd`, continuing after short writes.
package func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String) throws(IOError) {
    var done = 0
    while done < bytes.count {
        let d = done
        // done < count: the buffer is not empty.
        done += try sys("write(\(path))") { bytes.withUnsafeBytes { write(fd, $0.baseAddress! + d, $0.count - d) } }
    }
}

public func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

/// Creates or replaces `path` with `bytes` (mode 0600); with `sync`, fsyncs it too.
public func writeFile(_ path: String, _ bytes: [UInt8], sync: Bool = false) throws(IOError) {
    let fd = try sys("open(\(path))") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
    defer { close(fd) }
    try writeAll(fd, bytes, path: path)
    if sync { try sys("fsync(\(path))") { fsync(fd) } }
}
