// SPDX-License-Identifier: MIT
import Foundation

/// Debian's tinyproxy, a real forward proxy, on a loopback port of its own. It adds
/// `Via: 1.1 … (tinyproxy/…)` to what it forwards, so a receiver sees which requests came
/// through it.
final class ForwardProxy {
    private let process: Process
    let port: UInt16

    init(dir: TemporaryDirectory) throws {
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

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
