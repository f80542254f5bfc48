// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX

/// A sink's position in the log, `<dataDir>/cursors/<sink>.json`: every event with
/// `seq <= N` (ending at or before byte B) has been dealt with.
///
/// The file holds two 64-byte slots, each a JSON line `{"seq":N,"offset":B,"check":C}`
/// padded with spaces. Saves alternate between the slots and overwrite one in place;
/// loading takes the valid slot with the higher seq. A write torn by a crash can only
/// damage the slot being written, never the previous position. `save` writes (the
/// position survives the process at once); `sync` makes it survive a power loss, which
/// otherwise could only bring back an older position: delivered again, never skipped.
/// The slots are overwritten in place, never appended, so a failed fdatasync cannot leave
/// a hole: the disk keeps an older valid slot, and the next successful sync writes the
/// whole page again from what this process wrote.
///
/// `@unchecked Sendable`: used only by its runner's coordinator thread.
final class CursorStore: @unchecked Sendable {
    struct Position: Equatable, Sendable {
        var seq: UInt64
        var offset: Int64
    }

    static let slotSize = CursorSlot.size
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
        guard let bytes = try? readWholeFile(path), let best = CursorSlot.best(in: bytes) else { return nil }
        nextSlot = 1 - best.slot
        return Position(seq: best.seq, offset: best.offset)
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
            // New (or hand-written) file: lay out both slots, make the name durable. Until
            // that has worked the file is not used: the next save lays it out again, never
            // building on a layout whose sync failed (see ``DurableAppend``).
            do throws(IOError) {
                let both = Self.slot(p) + Self.slot(p)
                try sys("ftruncate(\(path))") { ftruncate(fd, 0) }
                _ = try sys("pwrite(\(path))") { both.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) } }
                try sys("fsync(\(path))") { fsync(fd) }
                try syncDirectory(directory)
            } catch {
                Glibc.close(fd)
                fd = -1
                throw error
            }
            nextSlot = 1
        }
    }

    static func slot(_ p: Position) -> [UInt8] { CursorSlot.encode(seq: p.seq, offset: p.offset) }
}

extension SinkRunner {
    /// A sink's saved cursor, for tools (`status`): the last seq dealt with and its end offset.
    public static func savedCursor(dataDir: String, sink: String) -> (seq: UInt64, offset: Int64)? {
        CursorStore(dataDir: dataDir, sink: sink).load().map { ($0.seq, $0.offset) }
    }
}
