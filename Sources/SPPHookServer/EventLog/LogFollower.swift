// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// Reads `events.jsonl` the way `tail` does: the last lines, then new lines as they are
/// written, across rotations (a rotated segment is read to its end, then the next).
public struct LogFollower {
    public let directory: LogDirectory
    private var reader: LogReader?
    /// Where `last` stopped in the active segment (following starts there).
    private var activeSize: Int64 = 0
    /// Lines with NUL bytes passed over since the last ``takeDamage()``.
    private var damage: [LineDamage] = []

    public init(dataDir: String) {
        directory = LogDirectory(dataDir)
    }

    /// The last `count` complete lines for which `keep` is true, oldest first, searching
    /// back through rotated segments as needed; following starts after them.
    public mutating func last(_ count: Int, where keep: ([UInt8]) -> Bool) -> [[UInt8]] {
        openActive()
        var found: [[UInt8]] = []
        var files: [(path: String, end: Int64)] = [(directory.activePath, activeSize)]
        files += directory.rotated().reversed().map { ($0.path, $0.size) }
        for (path, end) in files where found.count < count {
            let f = open(path, O_RDONLY | O_CLOEXEC)
            guard f >= 0 else { continue }
            defer { close(f) }
            var position = end
            var carry: [UInt8] = []  // the start of a line that began before `position`, without the earlier part
            while position > 0 && found.count < count {
                let size = Int(min(1 << 20, position))
                position -= Int64(size)
                var chunk = [UInt8](repeating: 0, count: size)
                let n = chunk.withUnsafeMutableBytes { pread(f, $0.baseAddress, size, off_t(position)) }
                guard n == size else { break }
                chunk += carry
                // Newest first: the lines after each newline (found with memchr: a generic
                // split dominated a `tail` that reads the whole log), then the part before the first one.
                var lineEnd = chunk.count
                for newline in LogReader.newlines(in: chunk, count: chunk.count).reversed() where found.count < count {
                    let line = readable(chunk[(newline + 1)..<lineEnd], path: path, at: position)
                    if !line.isEmpty && keep(Array(line)) { found.append(Array(line)) }
                    lineEnd = newline
                }
                let first = chunk[..<lineEnd]
                carry = position > 0 ? Array(first) : []
                if position == 0, found.count < count {
                    let line = readable(first, path: path, at: 0)
                    if !line.isEmpty, keep(Array(line)) { found.append(Array(line)) }
                }
            }
        }
        return found.reversed()
    }

    /// `line` (read from a chunk at file offset `at`) less the damaged part of a line with
    /// NUL bytes, which is recorded.
    private mutating func readable(_ line: ArraySlice<UInt8>, path: String, at: Int64) -> ArraySlice<UInt8> {
        let (holed, rest) = LineDamage.split(line)
        if holed > 0 { damage.append(LineDamage(file: path, offset: at + Int64(line.startIndex), bytes: holed)) }
        return rest
    }

    /// The lines with NUL bytes passed over since the last call (by `last` and `poll`).
    public mutating func takeDamage() -> [LineDamage] {
        if var current = reader {
            damage += current.takeDamage()
            reader = current
        }
        defer { damage = [] }
        return damage
    }

    private mutating func openActive() {
        var st = stat()
        var size: Int64 = 0
        let fd = open(directory.activePath, O_RDONLY | O_CLOEXEC)
        if fd >= 0 && fstat(fd, &st) == 0 {
            size = Int64(st.st_size)
            // Start at a line boundary: an unfinished last line is read when it completes.
            var byte: UInt8 = 0
            while size > 0 && pread(fd, &byte, 1, off_t(size - 1)) == 1 && byte != 0x0A { size -= 1 }
        }
        if fd >= 0 { close(fd) }
        activeSize = size
        reader = LogReader(source: OfflineLog(dataDir: directory.directory), offset: directory.activeBase() + size, skipThrough: 0)
    }

    /// Complete event lines written since the last call ([] when none), across rotations.
    public mutating func poll() -> [[UInt8]] {
        if reader == nil { openActive() }
        guard var current = reader else { return [] }
        var lines: [[UInt8]] = []
        let end = directory.end()
        do {
            while let e = try current.peek(upTo: end) {
                current.pop()
                lines.append(e.line)
            }
            reader = current
        } catch {
            // The file vanished or cannot be read right now: try again at the next poll.
            current.close()
            reader = LogReader(source: OfflineLog(dataDir: directory.directory), offset: current.offset, skipThrough: 0)
        }
        return lines
    }
}
