// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore

/// A sink's position in the log, `<dataDir>/cursors/<sink>.json` = `{"seq":N,"offset":B}`:
/// every event with `seq <= N` (ending at or before byte B) has been dealt with. Written
/// atomically (temporary file, fsync, rename, directory fsync), so a crash leaves the old
/// or the new position, never a torn one.
struct CursorStore {
    struct Position: Equatable, Sendable {
        var seq: UInt64
        var offset: Int64
    }

    let directory: String
    let path: String

    init(dataDir: String, sink: String) {
        directory = dataDir + "/cursors"
        path = directory + "/" + sink + ".json"
    }

    func load() -> Position? {
        guard let bytes = try? readWholeFile(path), case .object(let o)? = try? JSONParser.parse(bytes),
            case .number(let s)? = o["seq"], let seq = UInt64(s), case .number(let b)? = o["offset"], let offset = Int64(b)
        else { return nil }
        return Position(seq: seq, offset: offset)
    }

    func save(_ p: Position) throws(IOError) {
        try makeDirectories(directory)
        let tmp = path + ".tmp"
        let fd = try sys("open(\(tmp))") { open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600) }
        let bytes = Array("{\"seq\":\(p.seq),\"offset\":\(p.offset)}\n".utf8)
        do throws(IOError) {
            _ = try sys("write(\(tmp))") { bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
            try sys("fsync(\(tmp))") { fsync(fd) }
        } catch {
            close(fd)
            throw error
        }
        close(fd)
        try sys("rename(\(tmp))") { rename(tmp, path) }
        syncDirectory(directory)
    }
}
