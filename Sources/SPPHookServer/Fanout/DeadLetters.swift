// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore

/// `<dataDir>/dead-letters/<sink>.jsonl`: events a sink gave up on, one JSON object per
/// line: `{"sink","seq","id","event","attempts","failedAt","lastError","record":{…the log line…}}`.
///
/// Writers take an exclusive `flock` and re-check that the path still names the file they
/// opened, so `dead-letters retry` can take the file away (rename under the lock) without
/// losing a letter written at the same moment.
public struct DeadLetters: Sendable {
    public let path: String

    public init(dataDir: String, sink: String) {
        path = dataDir + "/dead-letters/" + sink + ".jsonl"
    }

    public func append(sink: String, event: LoggedEvent, attempts: Int, error: String, at: Timestamp) throws(IOError) {
        var out = Array("{\"sink\":".utf8)
        JSONWriter.writeString(sink, into: &out)
        out += Array(",\"seq\":\(event.seq),\"id\":".utf8)
        JSONWriter.writeString(event.head.id, into: &out)
        out += Array(",\"event\":".utf8)
        JSONWriter.writeString(event.head.event, into: &out)
        out += Array(",\"attempts\":\(attempts),\"failedAt\":\"\(at.rfc3339)\",\"lastError\":".utf8)
        JSONWriter.writeString(String(error.prefix(2000)), into: &out)
        out += Array(",\"record\":".utf8) + event.line + Array("}\n".utf8)
        try appendLocked(out)
    }

    func appendLocked(_ bytes: [UInt8]) throws(IOError) {
        if let slash = path.lastIndex(of: "/") { try makeDirectories(String(path[..<slash])) }
        while true {
            let fd = try sys("open(\(path))") { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
            defer { close(fd) }
            try sys("flock(\(path))") { flock(fd, LOCK_EX) }
            var mine = stat(), current = stat()
            guard fstat(fd, &mine) == 0, stat(path, &current) == 0, mine.st_ino == current.st_ino else { continue }
            _ = try sys("write(\(path))") { bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            try sys("fdatasync(\(path))") { fdatasync(fd) }
            return
        }
    }

    /// Moves the file aside (under the writers' lock) and returns its lines; new letters go
    /// to a fresh file from then on.
    public func takeAll() throws(IOError) -> [[UInt8]] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return [] }
            throw IOError(errno: errno, function: "open(\(path))")
        }
        defer { close(fd) }
        try sys("flock(\(path))") { flock(fd, LOCK_EX) }
        let aside = path + ".taken"
        try sys("rename(\(path))") { rename(path, aside) }
        let bytes = try readWholeFile(aside, limit: 1 << 30)
        unlink(aside)
        return bytes.split(separator: 0x0A).map(Array.init)
    }

    /// The lines, without taking them.
    public func list() -> [[UInt8]] {
        ((try? readWholeFile(path, limit: 1 << 30)) ?? []).split(separator: 0x0A).map(Array.init)
    }
}
