// SPDX-License-Identifier: MIT
import Foundation
import Glibc
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Testing

/// Start-up runs in order, and a step that fails stops whatever the steps before it started.
@Suite("Start-up failures leave nothing running")
struct StartupTests {
    /// A listener of the test's own on a kernel-chosen loopback port: the port stays taken.
    static func takenPort() throws -> (fd: Int32, address: String) {
        let fd = try Socket.listen(on: DaemonConfig.ListenAddress(host: "127.0.0.1", port: 0))
        return (fd, Socket.describe(fd))
    }

    static func config(_ dir: TemporaryDirectory, listen: String, sink: String) -> String {
        """
        {"listen": "\(listen)", "dataDir": "\(dir.file("data"))",
         "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["x-token-for-the-start-up-test"]}],
         "sinks": [{"name": "\(sink)", "type": "file", "path": "\(dir.file("out.jsonl"))"}]}
        """
    }

    @Test func aTakenPortStopsWhatStartedAndNamesTheAddress() throws {
        let dir = TemporaryDirectory()
        let (fd, address) = try Self.takenPort()
        defer { close(fd) }
        let sink = "taken-\(getpid() % 1000)"
        let config = try ConfigDecoder.decode(Array(Self.config(dir, listen: address, sink: sink).utf8))
        do {
            let daemon = try Daemon.start(config: config, secrets: SecretResolver(environment: [:]), logger: .quiet)
            daemon.stop(timeout: 1)
            Issue.record("the daemon started on a port that was taken")
        } catch {
            guard case .listen(let key, let failed, let cause) = error else {
                Issue.record("not a listen failure: \(error)")
                return
            }
            #expect(key == "listen" && failed == address && cause.errno == EADDRINUSE, "\(error)")
        }
        // The event log is closed (its threads end with it) and the sink's threads are gone.
        try waitFor(20) {
            threads(named: "sink:" + sink).isEmpty && threads(named: "send:" + sink).isEmpty
                && openFiles(under: dir.path).isEmpty
        }
    }

    /// The real binary exits non-zero with one clear line.
    @Test func theBinaryExitsNonZeroOnATakenPort() throws {
        let dir = TemporaryDirectory()
        let (fd, address) = try Self.takenPort()
        defer { close(fd) }
        try Self.config(dir, listen: address, sink: "taken-binary").write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, start: false)
        try daemon.process.run()
        try waitFor(30) { !daemon.process.isRunning }
        #expect(daemon.stop() != 0)
        try waitFor(10) { daemon.stderr.contains("cannot listen on \(address)") }
        #expect(daemon.stderr.contains("Address already in use"), "\(daemon.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("out.jsonl")))
    }
}
