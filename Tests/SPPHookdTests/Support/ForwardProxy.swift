// SPDX-License-Identifier: MIT
import Foundation

/// Debian's tinyproxy, a real forward proxy, on a loopback port of its own. It adds
/// `Via: 1.1 … (tinyproxy/…)` to what it forwards, so a receiver sees which requests came
/// through it.
final class ForwardProxy {
    private let process: Process
    let port: UInt16
    /// Where its configs and logs are (one of each per launch attempt).
    private let dir: String

    init(dir: TemporaryDirectory) throws {
        self.dir = dir.path
        (process, port) = try launchOnFreePort("/usr/bin/tinyproxy") { port, attempt in
            let conf = dir.file("tinyproxy-\(attempt).conf")
            try """
                Port \(port)
                Listen 127.0.0.1
                Timeout 30
                Allow 127.0.0.1
                MaxClients 32
                LogLevel Info
                LogFile "\(dir.file("tinyproxy-\(attempt).log"))"
                """.write(toFile: conf, atomically: true, encoding: .utf8)
            return ["-d", "-c", conf]
        }
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// The `host:port` of each CONNECT tunnel asked of it (tinyproxy logs
    /// "Request (file descriptor N): CONNECT host:port HTTP/1.1").
    var tunnels: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasPrefix("tinyproxy-") && $0.hasSuffix(".log") }.sorted().flatMap { name in
            let text = (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line -> String? in
                guard line.contains("Request (file descriptor "), let connect = line.range(of: "): CONNECT ") else { return nil }
                return line[connect.upperBound...].split(separator: " ").first.map(String.init)
            }
        }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
