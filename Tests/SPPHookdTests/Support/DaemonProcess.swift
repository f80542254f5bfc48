// SPDX-License-Identifier: MIT
import Foundation
import Synchronization

/// The real `spp-hookd` binary, started as a child process on a loopback port chosen by
/// the kernel (`listen: 127.0.0.1:0`) under a fake service manager (`NOTIFY_SOCKET`): it is
/// ready, and its ports are known, once it sends READY=1 (with `X_SPP_HOOKD_LISTEN`).
final class DaemonProcess {
    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["SPP_HOOKD_BIN"] { return explicit }
        // The test bundle sits in the build directory next to the executable.
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("spp-hookd").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return "spp-hookd"
    }

    static let token = "tve5p0JOga4jncVs9bm7ZlAThXRxkyPN"

    let dir: TemporaryDirectory
    let process = Process()
    private let stderrText = TextBuffer()
    private(set) var port: UInt16 = 0
    /// Plays systemd's side of sd_notify for this process.
    let manager: FakeServiceManager
    /// What the daemon sent up to and including READY=1 (`launch` waited for it).
    private(set) var startMessages: [FakeServiceManager.Message] = []

    /// Writes `config.json` into `dir` (dataDir `data`, listen on port 0) and starts the daemon.
    /// - Parameter extra: more top-level config members (`"limits": {...}`), as JSON text.
    init(
        dir: TemporaryDirectory, extra: String = "", environment: [String: String] = [:], extraArguments: [String] = [],
        wrapper: [String] = [], start: Bool = true
    ) throws {
        self.dir = dir
        manager = try FakeServiceManager(dir: dir, name: "notify-\(UUID().uuidString.prefix(8)).sock")
        let config = """
            {"listen": "127.0.0.1:0", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:TEST_SPP_TOKEN"]},
                           {"name": "second", "path": "/spp/second", "tokens": ["file:\(dir.file("second.token"))"]}]
             \(extra.isEmpty ? "" : ", " + extra)}
            """
        if !FileManager.default.fileExists(atPath: dir.file("config.json")) {
            try config.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        }
        try "second-endpoint-token-0123456789\n".write(toFile: dir.file("second.token"), atomically: true, encoding: .utf8)
        // `wrapper`: a command that runs the daemon (prlimit, say).
        let command = wrapper + [Self.binary, "serve", "--config", dir.file("config.json"), "--log-level", "debug"] + extraArguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var env = ProcessInfo.processInfo.environment
        env["TEST_SPP_TOKEN"] = Self.token
        env["SWIFT_BACKTRACE"] = "enable=no"
        env["NOTIFY_SOCKET"] = manager.path
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [stderrText] handle in
            let data = handle.availableData
            if !data.isEmpty { stderrText.append(String(decoding: data, as: UTF8.self)) }
        }
        if start { try launch() }
    }

    /// Starts the process (unless already running) and waits for READY=1, which names the
    /// ports it listens on.
    func launch() throws {
        if !process.isRunning && process.processIdentifier == 0 { try process.run() }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && process.isRunning {
            startMessages += manager.collect(until: Date().addingTimeInterval(0.5)) { $0.contains { $0.fields["READY"] == "1" } }
            guard let ready = startMessages.last(where: { $0.fields["READY"] == "1" }) else { continue }
            let listen = (ready.fields["X_SPP_HOOKD_LISTEN"] ?? "").split(separator: ",")
            let loopback = listen.first { $0.hasPrefix("127.0.0.1:") }
            guard let p = loopback.flatMap({ UInt16($0.dropFirst("127.0.0.1:".count)) }) else {
                throw DaemonError(message: "READY=1 names no loopback port: \(ready.raw)\n\(stderr)")
            }
            port = p
            return
        }
        throw DaemonError(message: "daemon did not start:\n\(stderr)")
    }

    var stderr: String { stderrText.text }

    /// The admin listener's port, as READY=1 named it (the config needs
    /// `"admin": {"listen": "127.0.0.1:0"}`).
    func adminPort() throws -> UInt16 {
        let admin = startMessages.last { $0.fields["READY"] == "1" }?.fields["X_SPP_HOOKD_ADMIN"] ?? "off"
        guard let port = admin.split(separator: ":").last.flatMap({ UInt16($0) }) else {
            throw DaemonError(message: "no admin listener: X_SPP_HOOKD_ADMIN=\(admin)")
        }
        return port
    }

    /// The intake listener's open connections, as `/metrics` on the admin port reports them.
    func openConnections(admin: UInt16) throws -> Int? {
        let client = try RawHTTPClient(port: admin)
        client.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let body = client.readResponse()?.body ?? ""
        let line = body.split(separator: "\n").first { $0.hasPrefix("spp_hookd_open_connections ") }
        return line?.split(separator: " ").last.flatMap { Double($0) }.map { Int($0) }
    }

    /// Waits until the intake listener holds exactly `count` connections.
    func waitForOpenConnections(_ count: Int, admin: UInt16) throws {
        try waitFor { (try? self.openConnections(admin: admin)) == count }
    }

    func kill(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Sends `signal` and waits for the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning { kill(signal) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Text appended from a pipe's handler thread and read by the test.
final class TextBuffer: Sendable {
    private let storage = Mutex("")
    func append(_ s: String) { storage.withLock { $0 += s } }
    var text: String { storage.withLock { $0 } }
}

struct DaemonError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs the daemon binary to completion (for one-shot commands like check-config).
func runCommand(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    try runProgram(DaemonProcess.binary, arguments, environment: environment)
}

/// Runs a program to completion; returns its exit status and combined output.
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}
