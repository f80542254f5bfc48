// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// The files of the event log in the data directory.
///
/// The log is one logical stream of JSON Lines; a position in it (what sink cursors store)
/// is a byte offset from the first event ever written. The stream is cut into segments:
/// the active one, `events.jsonl`, and rotated ones, `events-<base>.jsonl`, where `<base>`
/// (20 digits) is the logical offset of the segment's first byte, so names sort in log
/// order. `events.base` remembers the active segment's base, needed once retention has
/// deleted every rotated segment. Logs written before rotation existed are simply a log
/// whose active base is 0.
public struct LogDirectory: Sendable {
    public typealias Segment = LogSegment

    public let directory: String
    public var activePath: String { directory + "/events.jsonl" }
    var basePath: String { directory + "/events.base" }
    /// The highest seq ever issued when it is not in the log any more (see `continueSeq`).
    var seqFloorPath: String { directory + "/events.seq-floor" }
    /// The dedup index and the log position it covers (see ``DedupCheckpoint``).
    public var checkpointPath: String { directory + "/dedup.checkpoint" }

    /// The recorded seq floor; 0 when there is none.
    func seqFloor() -> UInt64 { Self.readNumber(seqFloorPath).flatMap { UInt64(exactly: $0) } ?? 0 }

    /// Records the seq floor durably.
    func storeSeqFloor(_ seq: UInt64) throws(IOError) { try storeNumber(Int64(seq), at: seqFloorPath) }

    /// The first position still on disk: the oldest rotated segment, or the active one.
    func oldestOffset() -> Int64 { rotated().first?.base ?? activeBase() }

    /// A number file (`events.base`, `events.seq-floor`): nil when missing or unreadable.
    private static func readNumber(_ path: String) -> Int64? {
        guard let bytes = try? readWholeFile(path, limit: 64) else { return nil }
        return Int64(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace })
    }

    /// Writes a number file durably: to a temporary name, fsync, rename, fsync the directory.
    private func storeNumber(_ n: Int64, at path: String) throws(IOError) {
        let tmp = path + ".tmp"
        try writeFile(tmp, Array("\(n)\n".utf8), sync: true)
        try sys("rename(\(tmp))") { rename(tmp, path) }
        try syncDirectory(directory)
    }

    public init(_ directory: String) {
        self.directory = directory
    }

    public static func segmentName(base: Int64) -> String {
        let digits = String(base)
        return "events-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".jsonl"
    }

    static func base(ofSegmentNamed name: String) -> Int64? {
        guard name.hasPrefix("events-"), name.hasSuffix(".jsonl") else { return nil }
        let digits = name.dropFirst(7).dropLast(6)
        guard digits.count == 20, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int64(digits)
    }

    /// Rotated segments, oldest first.
    public func rotated() -> [Segment] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var result: [Segment] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let base = Self.base(ofSegmentNamed: name) else { continue }
            let path = directory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0 else { continue }
            result.append(Segment(base: base, path: path, size: Int64(st.st_size), modified: Int64(st.st_mtim.tv_sec)))
        }
        return result.sorted { $0.base < $1.base }
    }

    /// Where the active segment starts: after the last rotated segment, or what
    /// `events.base` says when retention left none (whichever is further).
    public func activeBase() -> Int64 {
        max(rotated().last?.end ?? 0, Self.readNumber(basePath) ?? 0)
    }

    /// Records the active base durably.
    func storeActiveBase(_ base: Int64) throws(IOError) { try storeNumber(base, at: basePath) }

    /// The logical end of the log as it is on disk now (for tools that run beside the daemon).
    public func end() -> Int64 {
        var st = stat()
        let active = stat(activePath, &st) == 0 ? Int64(st.st_size) : 0
        return activeBase() + active
    }

    /// Total bytes in all segments.
    public func totalBytes() -> Int64 {
        var st = stat()
        let active = stat(activePath, &st) == 0 ? Int64(st.st_size) : 0
        return rotated().reduce(active) { $0 + $1.size }
    }
}
