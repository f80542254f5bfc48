// SPDX-License-Identifier: MIT
import Foundation

/// True when a process whose command line contains `text` is running.
func processExists(containing text: String) -> Bool {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for pid in entries where Int(pid) != nil && Int32(pid) != getpid() {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
        let cmd = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        if cmd.contains(text) && !cmd.contains("spp-hookdPackageTests") { return true }
    }
    return false
}

/// Names of this process's threads that start with `prefix` (the daemon names its threads
/// after the sink they serve, so a test tells its own from other tests').
func threads(named prefix: String) -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
        .map { $0.trimmingCharacters(in: .newlines) }.filter { $0.hasPrefix(prefix) }
}

/// This process's open files under `directory`.
func openFiles(under directory: String) -> [String] {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)") }
        .filter { $0.hasPrefix(directory + "/") }
}
