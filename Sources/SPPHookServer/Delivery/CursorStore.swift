// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore

/// A sink's position in the log, `<dataDir>/cursors/<sink>.json`: every event with
/// `seq <= N` (ending at or before byte B) has been dealt with.
///
/// The file holds two 64-byte slots, each a JSON line `{"seq":N,"offset":B,"check":C}`
/// padded with spaces. Saves alternate between the slots and overwrite one in place;
/// loading takes the valid slot with the higher seq. A write torn by a crash can only
/// damage the slot being written, never the previous position. `save` writes (the
/// position survives the process at once); `sync` makes it survive a power loss, which
/// otherwise could only bring back an older position: delivered again, never skipped.
///
/// `@unchecked Sendable`: used only by its runner's coordinator thread.
final class CursorStore: @unchecked Sendable {
    struct Position: Equatable, Sendable {
        var seq: UInt64
        var offset: Int64
    }

    static let slotSize = 64
    let directory: String
    let path: String
    private var fd: Int32 = -1
    private var nextSlot = 0

    init(dataDir: String, sink: String) {
        directory = dataDir + "/cursors"
        path = directory + "/" + sink + ".json"
    }

    deinit { if fd >= 0 { close(fd) } }

    func load() -> Position? {
        guard let bytes = try? readWholeFile(path) else { return nil }
        var best: (Position, Int)?
        for (slot, line) in bytes.split(separator: 0x0A).prefix(2).enumerated() {
            guard case .object(let o)? = try? JSONParser.parse(Array(line)), case .number(let s)? = o["seq"],
                let seq = UInt64(s), case .number(let b)? = o["offset"], let offset = Int64(b)
            else { continue }
            // A slot with a check must match it; a plain {"seq","offset"} file (written by hand) is taken as is.
            if case .number(let c)? = o["check"], UInt32(c) != Self.check(seq, offset) { continue }
            if best.map({ seq > $0.0.seq }) ?? true { best = (Position(seq: seq, offset: offset), slot) }
        }
        if let best { nextSlot = 1 - best.1 }
        return best?.0
    }

    /// Moves the cursor back (loading prefers the slot with the higher seq, so both slots
    /// are overwritten) and makes it durable.
    func reset(_ p: Position) throws(IOError) {
        if fd < 0 { try open(initial: p) }
        let both = Self.slot(p) + Self.slot(p)
        _ = try sys("pwrite(\(path))") { both.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
        try sys("fsync(\(path))") { fsync(fd) }
        nextSlot = 0
    }

    func save(_ p: Position) throws(IOError) {
        if fd < 0 { try open(initial: p) }
        let slot = Self.slot(p)
        let at = off_t(nextSlot * Self.slotSize)
        _ = try sys("pwrite(\(path))") { slot.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, at) } }
        nextSlot = 1 - nextSlot
    }

    /// Makes the saved positions durable.
    func sync() throws(IOError) {
        guard fd >= 0 else { return }
        try sys("fdatasync(\(path))") { fdatasync(fd) }
    }

    private func open(initial p: Position) throws(IOError) {
        try makeDirectories(directory)
        let existing = access(path, F_OK) == 0
        fd = try sys("open(\(path))") { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        if !existing || (try? readWholeFile(path))?.count != 2 * Self.slotSize {
            // New (or hand-written) file: lay out both slots, make the name durable.
            let both = Self.slot(p) + Self.slot(p)
            try sys("ftruncate(\(path))") { ftruncate(fd, 0) }
            _ = try sys("pwrite(\(path))") { both.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
            try sys("fsync(\(path))") { fsync(fd) }
            try syncDirectory(directory)
            nextSlot = 1
        }
    }

    static func slot(_ p: Position) -> [UInt8] {
        var text = Array("{\"seq\":\(p.seq),\"offset\":\(p.offset),\"check\":\(check(p.seq, p.offset))}".utf8)
        precondition(text.count < slotSize)
        text += [UInt8](repeating: 0x20, count: slotSize - 1 - text.count)
        text.append(0x0A)
        return text
    }

    /// FNV-1a over the two numbers: catches a slot torn by a crash.
    static func check(_ seq: UInt64, _ offset: Int64) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in "\(seq):\(offset)".utf8 {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return h
    }
}

extension SinkRunner {
    /// A sink's saved cursor, for tools (`status`): the last seq dealt with and its end offset.
    public static func savedCursor(dataDir: String, sink: String) -> (seq: UInt64, offset: Int64)? {
        CursorStore(dataDir: dataDir, sink: sink).load().map { ($0.seq, $0.offset) }
    }
}
