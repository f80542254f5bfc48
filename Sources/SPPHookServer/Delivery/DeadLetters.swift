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

    /// Appends complete lines under the writers' lock and syncs them.
    public func appendLocked(_ bytes: [UInt8]) throws(IOError) {
        if let slash = path.lastIndex(of: "/") { try makeDirectories(String(path[..<slash])) }
        while true {
            let fd = try openForAppend(path, mode: 0o600)
            defer { close(fd) }
            try sys("flock(\(path))") { flock(fd, LOCK_EX) }
            var mine = stat(), current = stat()
            guard fstat(fd, &mine) == 0, stat(path, &current) == 0, mine.st_ino == current.st_ino else { continue }
            try repairTail(fd, path: path)
            try writeAll(fd, bytes, path: path)
            try sys("fdatasync(\(path))") { fdatasync(fd) }
            return
        }
    }

    /// Letters taken out for a retry: the lines, and the files to delete once they have
    /// been dealt with (delivered, or written back as new dead letters).
    public struct Taken {
        public var lines: [[UInt8]]
        public var files: [String]

        public func finish() {
            for f in files { unlink(f) }
        }
    }

    /// Moves the file aside (under the writers' lock) and returns its lines, with those of
    /// any earlier retry that was interrupted; new letters go to a fresh file from then on.
    /// Nothing is deleted until ``Taken/finish()``, so a crash mid-retry loses no letter.
    public func takeAll() throws(IOError) -> Taken {
        var files = leftovers()
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            defer { close(fd) }
            try sys("flock(\(path))") { flock(fd, LOCK_EX) }
            let aside = path + ".taken-\(SystemWallClock().now().millisecondsSinceEpoch)-\(getpid())"
            try sys("rename(\(path))") { rename(path, aside) }
            try syncDirectory(parentDirectory(path))
            files.append(aside)
        } else if errno != ENOENT {
            throw IOError(errno: errno, function: "open(\(path))")
        }
        var lines: [[UInt8]] = []
        for f in files {
            lines += try readWholeFile(f, limit: 1 << 30).split(separator: 0x0A).map(Array.init)
        }
        return Taken(lines: lines, files: files)
    }

    /// The lines (including those of an interrupted retry), without taking them.
    public func list() -> [[UInt8]] {
        (leftovers() + [path]).flatMap { ((try? readWholeFile($0, limit: 1 << 30)) ?? []).split(separator: 0x0A).map(Array.init) }
    }

    /// Files an interrupted `dead-letters retry` left behind.
    private func leftovers() -> [String] {
        guard let slash = path.lastIndex(of: "/") else { return [] }
        let dir = String(path[..<slash]), base = String(path[path.index(after: slash)...]) + ".taken-"
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var found: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name.hasPrefix(base) { found.append(dir + "/" + name) }
        }
        return found.sorted()
    }
}
