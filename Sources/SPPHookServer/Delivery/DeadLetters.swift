// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
public import SPPHookPOSIX

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
            let file = POSIXAppendFile(adopting: try openForAppend(path, mode: 0o600), path: path)
            try sys("flock(\(path))") { flock(file.descriptor, LOCK_EX) }
            var mine = stat(), current = stat()
            guard fstat(file.descriptor, &mine) == 0, stat(path, &current) == 0, mine.st_ino == current.st_ino else { continue }
            try repairTail(file.descriptor, path: path)
            try DurableAppend.append(bytes, to: file)
            return
        }
    }

    /// Letters taken out for a retry: the lines, and the files to delete once they have
    /// been dealt with (delivered, or written back as new dead letters).
    public struct Taken {
        public var lines: [[UInt8]]
        public var files: [String]
        /// Lines with NUL bytes passed over (what followed a line's last NUL is in `lines`).
        public var damaged: [LineDamage]

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
        var taken = Taken(lines: [], files: files, damaged: [])
        for f in files {
            Self.lines(of: f, try readWholeFile(f, limit: 1 << 30), into: &taken.lines, damaged: &taken.damaged)
        }
        return taken
    }

    /// The lines (including those of an interrupted retry), without taking them, and the
    /// lines with NUL bytes passed over.
    public func list() -> (lines: [[UInt8]], damaged: [LineDamage]) {
        var result: (lines: [[UInt8]], damaged: [LineDamage]) = ([], [])
        for f in leftovers() + [path] {
            Self.lines(of: f, (try? readWholeFile(f, limit: 1 << 30)) ?? [], into: &result.lines, damaged: &result.damaged)
        }
        return result
    }

    /// The lines of a file's `bytes` (an unterminated last one too: shown, and kept by a
    /// retry as unreadable); of a line with NUL bytes (``LineDamage``), what follows its last NUL.
    private static func lines(of file: String, _ bytes: [UInt8], into lines: inout [[UInt8]], damaged: inout [LineDamage]) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            let (holed, rest) = LineDamage.split(bytes[start..<end])
            if holed > 0 { damaged.append(LineDamage(file: file, offset: Int64(start), bytes: holed)) }
            if !rest.isEmpty { lines.append(Array(rest)) }
            start = end + 1
        }
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
