// SPDX-License-Identifier: MIT
import Foundation

/// Debian's tinyproxy, a real forward proxy, on a loopback port of its own. It adds
/// `Via: 1.1 … (tinyproxy/…)` to what it forwards, so a receiver sees which requests came
/// through it.
final class ForwardProxy {
    private var process: Process?
    private(set) var port: UInt16 = 0

    init(dir: TemporaryDirectory) throws {
        // tinyproxy binds the port its config names: a port free a moment ago, tried again
        // if someone took it meanwhile.
        for attempt in 0..<5 {
            let port = try freePort()
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
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/tinyproxy")
            p.arguments = ["-d", "-c", conf]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            try waitFor(10) { !p.isRunning || (try? RawHTTPClient(port: port)) != nil }
            if p.isRunning {
                (process, self.port) = (p, port)
                return
            }
        }
        throw DaemonError(message: "tinyproxy did not start")
    }

    var url: String { "http://127.0.0.1:\(port)" }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
