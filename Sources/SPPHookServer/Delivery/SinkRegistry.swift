// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import Glibc

/// `<dataDir>/cursors/registry`: the names of every sink that has had a cursor, one per
/// line, durable before the sink reads its first event. A sink that is listed here but has
/// no cursor file lost it (a power cut before its directory was synced, an operator's
/// mistake): it is not new, and must not start at the end of a log it had been reading.
struct SinkRegistry {
    let path: String

    init(dataDir: String) {
        path = dataDir + "/cursors/registry"
    }

    func contains(_ sink: String) -> Bool {
        guard let bytes = try? readWholeFile(path) else { return false }
        return bytes.split(separator: 0x0A).contains { String(decoding: $0, as: UTF8.self) == sink }
    }

    /// Adds `sink` (a no-op when listed), synced with its directory entry.
    func add(_ sink: String) throws(IOError) {
        if contains(sink) { return }
        try makeDirectories(parentDirectory(path))
        let file = POSIXAppendFile(adopting: try openForAppend(path, mode: 0o600), path: path)
        try repairTail(file.descriptor, path: path)
        try DurableAppend.append(Array((sink + "\n").utf8), to: file)
    }
}
