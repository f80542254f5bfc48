// SPDX-License-Identifier: MIT
import Foundation
import Synchronization
import Testing

@Suite("systemd integration")
struct SystemdTests {
    @Test func notifyReadyStatusWatchdogStoppingInOrder() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, environment: ["WATCHDOG_USEC": "400000"])
        let manager = daemon.manager
        var messages = daemon.startMessages
        let ready = try #require(messages.last)
        #expect(ready.fields["READY"] == "1")
        #expect(ready.fields["STATUS"]?.hasPrefix("received 0, stored 0") == true)
        #expect(ready.fields["X_SPP_HOOKD_LISTEN"] == "127.0.0.1:\(daemon.port)")
        #expect(ready.fields["X_SPP_HOOKD_ADMIN"] == "off")
        // READY comes only once the listener accepts: the port it names takes a request now.
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.status == 200)
        messages += manager.collect(until: Date().addingTimeInterval(60)) { got in
            got.filter { $0.fields["WATCHDOG"] == "1" }.count >= 4 && got.contains { $0.fields["STATUS"]?.contains("stored 1") == true }
        }
        let afterReady = messages.drop { $0.fields["READY"] == nil }.dropFirst()
        let pings = afterReady.filter { $0.fields["WATCHDOG"] == "1" }
        #expect(pings.count >= 4, "watchdog pings at half of 400 ms: got \(pings.count)")
        for (a, b) in zip(pings, pings.dropFirst()) {
            // Never faster than half the interval (a slow machine may make them later).
            #expect(b.at.timeIntervalSince(a.at) > 0.1, "ping gap \(b.at.timeIntervalSince(a.at))")
        }
        #expect(messages.prefix { $0.fields["READY"] == nil }.allSatisfy { $0.fields["WATCHDOG"] == nil }, "no ping before READY")
        #expect(afterReady.contains { $0.fields["STATUS"]?.contains("stored 1") == true })
        // SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1 again.
        daemon.kill(SIGHUP)
        let reload = manager.collect(until: Date().addingTimeInterval(60)) { $0.contains { $0.fields["READY"] == "1" } }
        let reloading = try #require(reload.first { $0.fields["RELOADING"] == "1" })
        #expect(UInt64(reloading.fields["MONOTONIC_USEC"] ?? "") != nil)
        #expect(reload.firstIndex { $0.fields["RELOADING"] != nil }! < reload.firstIndex { $0.fields["READY"] != nil }!)
        // SIGTERM: STOPPING=1, then exit 0.
        daemon.kill(SIGTERM)
        let end = manager.collect(until: Date().addingTimeInterval(60)) { $0.contains { $0.fields["STOPPING"] == "1" } }
        #expect(end.contains { $0.fields["STOPPING"] == "1" })
        #expect(daemon.stop() == 0)
    }

    /// STOPPING=1 is the daemon's last word: the status reporter and its watchdog pings end
    /// first, even while a stop waits seconds for a delivery in flight.
    @Test func nothingIsSentAfterStopping() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "slow", "type": "shell", "command": ["/bin/sh", "-c", "touch '\(dir.file("started"))'; sleep 2"]}]
            """, environment: ["WATCHDOG_USEC": "200000"])
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.status == 200)
        try waitFor { FileManager.default.fileExists(atPath: dir.file("started")) }
        daemon.kill(SIGTERM)
        #expect(daemon.stop() == 0)
        let messages = daemon.manager.collect(until: Date())
        #expect(messages.contains { $0.fields["STOPPING"] == "1" })
        let after = messages.drop { $0.fields["STOPPING"] == nil }.dropFirst()
        #expect(after.isEmpty, "\(after.map(\.raw))")
    }

    @Test func sighupAppliesAGoodConfigAndKeepsTheRunningOneOnError() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let config = dir.read("config.json")
        // Good: a new endpoint with its own token.
        let added = config.replacingOccurrences(of: #""endpoints": ["#,
            with: #""endpoints": [{"name": "new", "path": "/spp/new", "tokens": ["new-endpoint-token-0123456789"]},"#)
        try added.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("configuration reloaded") }
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/new", sppBody(token: "new-endpoint-token-0123456789")))
        #expect(client.readResponse()?.status == 200)
        // Bad: an unknown key. The error names it and the running config stays.
        try added.replacingOccurrences(of: #""listen""#, with: #""colour": 1, "listen""#)
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("reload failed; keeping the running configuration") }
        #expect(daemon.stderr.contains("colour: unknown key"))
        // A change that needs a restart is refused the same way.
        try added.replacingOccurrences(of: dir.file("data"), with: dir.file("elsewhere"))
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("dataDir: changing it needs a restart") }
        client.send(RawHTTPClient.post("/spp/new", sppBody(token: "new-endpoint-token-0123456789", note: "2")))
        #expect(client.readResponse()?.status == 200)
        client.send(RawHTTPClient.post("/spp/main", sppBody(note: "3")))
        #expect(client.readResponse()?.status == 200)
        #expect(daemon.stop() == 0)
    }

    @Test(arguments: ["tcp", "unix"])
    func socketActivationAnswersAWebhook(_ kind: String) throws {
        let dir = TemporaryDirectory()
        let port = try freePort()
        let address = kind == "tcp" ? "127.0.0.1:\(port)" : dir.file("spp.sock")
        try """
            {"listen": "127.0.0.1:1", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:TEST_SPP_TOKEN"]}]}
            """.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/systemd-socket-activate")
        p.arguments = ["-l", address, "-E", "TEST_SPP_TOKEN=\(DaemonProcess.token)",
            DaemonProcess.binary, "serve", "--config", dir.file("config.json"), "--log-format", "text"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        defer {
            // Until it has exec'd the daemon, systemd-socket-activate blocks SIGTERM: a test
            // that failed before its first connection would wait here for ever.
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        // The socket file exists from bind(), before listen(): wait until a connection is taken.
        let connect = { kind == "tcp" ? try RawHTTPClient(port: port) : try RawHTTPClient(unixPath: address) }
        try waitFor { (try? connect()) != nil }
        let client = try connect()
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        let r = try #require(client.readResponse())
        #expect(r.status == 200)
        #expect(dir.events().count == 1)
    }

    @Test func jsonLogFormat() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extraArguments: ["--log-format", "json"])
        daemon.stop()
        let lines = daemon.stderr.split(separator: "\n")
        #expect(!lines.isEmpty)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["level"] != nil && object?["message"] != nil && object?["time"] != nil, "\(line)")
        }
        #expect(lines.contains { $0.contains(#""message":"configuration loaded""#) })
    }

    @Test func sigtermUnderLoadLosesNoAcknowledgedEvent() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let load = LoadGenerator(port: daemon.port, clients: 8)
        try waitFor { load.count >= 300 }
        #expect(daemon.stop(SIGTERM) == 0)
        let acknowledged = load.stop()
        var logged: [Int: String] = [:]
        for e in dir.events() {
            logged[e["seq"] as! Int] = ((e["payload"] as? [String: Any])?["data"] as? [String: Any])?["id"] as? String
        }
        #expect(acknowledged.allSatisfy { logged[$0.seq] == $0.marker }, "acknowledged events missing after SIGTERM")
        #expect(daemon.stderr.contains("stopped"))
    }
}
