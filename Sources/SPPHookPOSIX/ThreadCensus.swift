// SPDX-License-Identifier: MIT
import CShims
import Glibc

/// The process's threads other than the calling one, by name, from `/proc/self/task`: what
/// a stop or a failed start left running (every thread the daemon starts is named).
public enum ThreadCensus {
    public static func others() -> [String] {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        let me = spp_thread_id()
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name), tid != me else { continue }
            let comm = (try? readWholeFile("/proc/self/task/\(name)/comm")) ?? []
            let thread = String(decoding: comm.prefix { $0 != 0x0A }, as: UTF8.self)
            names.append(thread.isEmpty ? name : thread)
        }
        return names.sorted()
    }
}
