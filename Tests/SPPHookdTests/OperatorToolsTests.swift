// SPDX-License-Identifier: MIT
import Foundation
import Synchronization
import Testing

/// `tail`, `status`, `send-test` and the admin listener, against the real daemon.
@Suite("Operator tools: tail, status, send-test, /healthz and /metrics")
struct OperatorToolsTests {
    /// Posts `count` distinct order events (ids `prefix-N`); returns the acknowledged seqs.
    static func postOrders(_ daemon: DaemonProcess, _ count: Int, prefix: String, event: String = "order.created") throws -> [Int] {
        let client = try RawHTTPClient(port: daemon.port)
        return try (0..<count).map { i in
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: event, id: "\(prefix)-\(i)")))
            let r = try #require(client.readResponse())
            #expect(r.status == 200)
            return r.json["seq"] as? Int ?? -1
        }
    }

    /// A child process whose standard output is collected as it arrives.
    final class Collector {
        let process = Process()
        let output = TextBuffer()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
            process.arguments = arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { [output] h in
                let d = h.availableData
                if !d.isEmpty { output.append(String(decoding: d, as: UTF8.self)) }
            }
            try process.run()
        }

        var lines: [String] { output.text.split(separator: "\n").map(String.init) }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    static func seqs(_ lines: [String]) -> [Int] {
        lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["seq"] as? Int }
    }

    static func segments(_ dir: TemporaryDirectory) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.file("data"))) ?? []).filter { $0.hasPrefix("events-") }.sorted()
    }

    @Test func tailFollowsALiveDaemonAcrossRotations() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "log": {"maxBytes": 8192}, "sinks": [{"name": "archive", "type": "file", "path": "\(dir.file("archive.jsonl"))"}]
            """)
        let first = try Self.postOrders(daemon, 5, prefix: "before")
        let config = dir.file("config.json")

        // -n: the latest matching events, raw JSON when piped.
        let last = try runCommand(["tail", "--config", config, "-n", "3"])
        #expect(last.status == 0)
        #expect(Self.seqs(last.output.split(separator: "\n").map(String.init)) == Array(first.suffix(3)))

        // -f while events arrive, several rotations happening under it.
        let follower = try Collector(["tail", "--config", config, "-f", "-n", "2"])
        defer { follower.stop() }
        try waitFor { Self.seqs(follower.lines).count == 2 }
        let orders = try Self.postOrders(daemon, 120, prefix: "during")
        let invoices = try Self.postOrders(daemon, 30, prefix: "inv", event: "invoice.paid")
        try waitFor { Self.seqs(follower.lines).count == 152 }
        #expect(Self.seqs(follower.lines) == Array(first.suffix(2)) + orders + invoices)
        #expect(Self.segments(dir).count >= 3, "the log rotated: \(Self.segments(dir))")

        // A filtered follower sees only its events; a line per event, in order.
        let filtered = try Collector(["tail", "--config", config, "-f", "-n", "5", "--event", "invoice.*", "--category", "invoices"])
        defer { filtered.stop() }
        try waitFor { Self.seqs(filtered.lines).count == 5 }
        let more = try Self.postOrders(daemon, 40, prefix: "inv2", event: "invoice.paid") + Self.postOrders(daemon, 40, prefix: "o2")
        try waitFor { Self.seqs(follower.lines).count == 232 && Self.seqs(filtered.lines).count == 45 }
        #expect(Self.seqs(filtered.lines) == Array(invoices.suffix(5)) + more.prefix(40))
        #expect(Self.seqs(follower.lines).suffix(80) == more[...])

        // Searching back through rotated segments for -n.
        let back = try runCommand(["tail", "--config", config, "-n", "100", "--category", "orders"])
        #expect(Self.seqs(back.output.split(separator: "\n").map(String.init)) == Array((first + orders + more.suffix(40)).suffix(100)))

        // An external logrotate: rename, then SIGUSR1. Nothing is lost for followers or the log.
        try FileManager.default.moveItem(atPath: dir.file("data/events.jsonl"), toPath: dir.file("data/events.jsonl.1"))
        let renamed = try Self.postOrders(daemon, 3, prefix: "renamed")
        daemon.kill(SIGUSR1)
        try waitFor { FileManager.default.fileExists(atPath: dir.file("data/events.jsonl")) }
        let after = try Self.postOrders(daemon, 3, prefix: "after")
        try waitFor { Self.seqs(follower.lines).count == 238 }
        #expect(Self.seqs(follower.lines).suffix(6) == (renamed + after)[...])
        #expect(daemon.stop() == 0)
        let all = dir.events().map { $0["seq"] as! Int }
        #expect(all == Array(1...241), "every event once, in order, across segments")
        // The file sink read across the same segments.
        #expect(Self.seqs(FanoutTests.lines(dir.file("archive.jsonl"))) == Array(1...241))
    }

    @Test func statusShowsEndpointCountsSinkLagErrorsAndLogSize() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "archive", "type": "file", "path": "\(dir.file("archive.jsonl"))"},
                      {"name": "down", "type": "forward", "url": "http://127.0.0.1:1/hook", "categories": ["invoices"],
                       "retry": {"maxAttempts": 1}}]
            """)
        let config = dir.file("config.json")
        _ = try Self.postOrders(daemon, 4, prefix: "o")
        _ = try Self.postOrders(daemon, 2, prefix: "i", event: "invoice.paid")
        _ = try Self.postOrders(daemon, 1, prefix: "o")  // a duplicate of o-0
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(token: "wrong-token-wrong-token-wrong-tok")))
        #expect(try #require(client.readResponse()).status == 401)
        client.send(RawHTTPClient.post("/spp/second", sppBody(token: "second-endpoint-token-0123456789", id: "s")))
        #expect(try #require(client.readResponse()).status == 200)

        try waitFor {
            let s = try runCommand(["status", "--config", config, "--json"])
            let o = (try? JSONSerialization.jsonObject(with: Data(s.output.utf8))) as? [String: Any]
            let sinks = o?["sinks"] as? [[String: Any]] ?? []
            return s.status == 0 && sinks.count == 2 && sinks[0]["lag"] as? Int == 0 && sinks[1]["deadLetters"] as? Int == 2
                && (o?["endpoints"] as? [[String: Any]])?.first?["received"] as? Int == 8
        }
        let s = try runCommand(["status", "--config", config, "--json"])
        let o = try #require(try JSONSerialization.jsonObject(with: Data(s.output.utf8)) as? [String: Any])
        #expect(o["running"] as? Bool == true)
        #expect(o["lastSeq"] as? Int == 7)
        let logBytes = try #require(try FileManager.default.attributesOfItem(atPath: dir.file("data/events.jsonl"))[.size] as? Int)
        #expect(o["logBytes"] as? Int == logBytes)
        let endpoints = try #require(o["endpoints"] as? [[String: Any]])
        let main = endpoints[0], second = endpoints[1]
        #expect(main["name"] as? String == "main")
        #expect([main["received"], main["stored"], main["duplicates"], main["rejected"], main["failed"]].map { $0 as? Int } == [8, 6, 1, 1, 0])
        #expect([second["received"], second["stored"]].map { $0 as? Int } == [1, 1])
        let sinks = try #require(o["sinks"] as? [[String: Any]])
        #expect(sinks[0]["name"] as? String == "archive")
        #expect([sinks[0]["cursorSeq"], sinks[0]["lag"], sinks[0]["deadLetters"], sinks[0]["delivered"]].map { $0 as? Int } == [7, 0, 0, 7])
        #expect(sinks[0]["lastSuccessAt"] is String && sinks[0]["lastError"] is NSNull)
        #expect([sinks[1]["cursorSeq"], sinks[1]["lag"], sinks[1]["deadLetters"]].map { $0 as? Int } == [7, 0, 2])
        #expect((sinks[1]["lastError"] as? String)?.contains("Connection refused") == true)

        // The same state for people.
        let text = try runCommand(["status", "--config", config])
        #expect(text.status == 0)
        #expect(text.output.contains("spp-hookd is running (pid \(daemon.process.processIdentifier)"))
        #expect(text.output.contains("last seq 7, \(logBytes) B in 1 segment(s)"))
        #expect(text.output.range(of: #"main +received 8 +stored 6 +duplicates 1 +rejected 1 +failed 0"#, options: .regularExpression) != nil,
            "\(text.output)")
        #expect(text.output.range(of: #"archive +cursor 7 +lag 0 +dead letters 0"#, options: .regularExpression) != nil)
        #expect(text.output.range(of: #"down +cursor 7 +lag 0 +dead letters 2"#, options: .regularExpression) != nil)

        // Stopped: exit 3, cursors and dead letters still read from disk.
        #expect(daemon.stop() == 0)
        let stopped = try runCommand(["status", "--config", config])
        #expect(stopped.status == 3)
        #expect(stopped.output.contains("spp-hookd is not running"))
        #expect(stopped.output.range(of: #"down +cursor 7 +lag 0 +dead letters 2"#, options: .regularExpression) != nil)
    }

    @Test func sendTestPostsEverySampleAndTheDaemonClassifiesIt() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let url = "http://127.0.0.1:\(daemon.port)/spp/main"
        let list = try runCommand(["send-test", "--list"])
        let events = list.output.split(separator: "\n").map { String($0.split(separator: " ")[0]) }
        #expect(events.count >= 19)
        for event in events {
            let r = try runCommand(["send-test", "--event", event, "--url", url, "--token", DaemonProcess.token])
            #expect(r.status == 0, "\(event): \(r.output)")
        }
        let logged = dir.events()
        #expect(logged.map { $0["event"] as? String } == events.map { Optional($0) })
        // Every watch category has at least one sample, classified as such.
        #expect(Set(logged.compactMap { $0["category"] as? String })
            == ["orders", "forms", "accounts", "invoices", "messages", "subscriptions", "tickets"])
        // The token never reaches the log.
        #expect(!dir.read("data/events.jsonl").contains(DaemonProcess.token))
        // Defaults come from the config (listen address, endpoint, env: token); a wrong token is a failure.
        let config = dir.file("client.json")
        try """
            {"listen": "127.0.0.1:\(daemon.port)", "dataDir": "\(dir.file("unused"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:TEST_SPP_TOKEN"]}]}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let viaConfig = try runCommand(["send-test", "--config", config, "--event", "subscription.canceled"],
            environment: ["TEST_SPP_TOKEN": DaemonProcess.token])
        #expect(viaConfig.status == 0 && viaConfig.output.contains("\"category\":\"subscriptions\""), "\(viaConfig.output)")
        let wrong = try runCommand(["send-test", "--event", "invoice.paid", "--url", url, "--token", "not-the-token"])
        #expect(wrong.status == 1 && wrong.output.contains("401"))
        let unknown = try runCommand(["send-test", "--event", "nope.nothing", "--url", url, "--token", "x"])
        #expect(unknown.status != 0 && unknown.output.contains("no sample for \"nope.nothing\""))
    }

    @Test func metricsAreValidPrometheusTextWithCountsOfKnownTraffic() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "admin": {"listen": "127.0.0.1:0"},
            "sinks": [{"name": "archive", "type": "file", "path": "\(dir.file("archive.jsonl"))"}]
            """)
        let adminPort = try daemon.adminPort()

        _ = try Self.postOrders(daemon, 3, prefix: "o")
        _ = try Self.postOrders(daemon, 2, prefix: "i", event: "invoice.paid")
        _ = try Self.postOrders(daemon, 1, prefix: "w", event: "widget.spun")
        _ = try Self.postOrders(daemon, 1, prefix: "o")  // duplicate
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(token: "wrong-token-wrong-token-wrong-tok")))
        #expect(try #require(client.readResponse()).status == 401)
        client.send(RawHTTPClient.post("/spp/main", "{not json"))
        #expect(try #require(client.readResponse()).status == 400)
        try waitFor { FanoutTests.lines(dir.file("archive.jsonl")).count == 6 }

        let health = try RawHTTPClient(port: adminPort)
        health.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        let h = try #require(health.readResponse())
        #expect(h.status == 200 && h.json["ok"] as? Bool == true)
        health.send("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(try #require(health.readResponse()).status == 405)
        health.send("GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try #require(health.readResponse()).status == 404)

        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/prom_parse.py").path
        let parsed = try runProgram("/usr/bin/env", ["python3", script, "http://127.0.0.1:\(adminPort)/metrics"])
        #expect(parsed.status == 0, "prometheus_client rejected the exposition: \(parsed.output)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: Any])
        #expect((o["contentType"] as? String)?.hasPrefix("text/plain; version=0.0.4") == true)
        let families = try #require(o["families"] as? [String: String])
        #expect(families["spp_hookd_events_received"] == "counter")
        #expect(families["spp_hookd_request_duration_seconds"] == "histogram")
        #expect(families["spp_hookd_open_connections"] == "gauge")
        let samples = try #require(o["samples"] as? [[Any]])
        func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0[0] as? String == name && ($0[1] as? [String: String]) == labels }.flatMap { $0[2] as? Double }
        }
        #expect(value("spp_hookd_events_received_total", ["endpoint": "main", "category": "orders", "event": "order.created"]) == 4)
        #expect(value("spp_hookd_events_received_total", ["endpoint": "main", "category": "invoices", "event": "invoice.paid"]) == 2)
        #expect(value("spp_hookd_events_received_total", ["endpoint": "main", "category": "other", "event": "widget.spun"]) == 1)
        #expect(value("spp_hookd_requests_rejected_total", ["endpoint": "main", "reason": "token"]) == 1)
        #expect(value("spp_hookd_requests_rejected_total", ["endpoint": "main", "reason": "body"]) == 1)
        #expect(value("spp_hookd_events_stored_total", ["endpoint": "main"]) == 6)
        #expect(value("spp_hookd_events_duplicate_total", ["endpoint": "main"]) == 1)
        #expect(value("spp_hookd_sink_delivered_total", ["sink": "archive"]) == 6)
        #expect(value("spp_hookd_sink_lag_events", ["sink": "archive"]) == 0)
        #expect(value("spp_hookd_last_seq") == 6)
        // Every request that reached the endpoint is in the latency histogram; the two
        // connections above (intake and admin) are open.
        #expect(value("spp_hookd_request_duration_seconds_count") == 9)
        #expect(value("spp_hookd_request_duration_seconds_bucket", ["le": "+Inf"]) == 9)
        #expect((value("spp_hookd_open_connections") ?? 0) >= 1)
        #expect(value("spp_hookd_log_bytes").map(Int.init) == FanoutTests.lines(dir.file("data/events.jsonl")).map { $0.utf8.count + 1 }.reduce(0, +))
        #expect(daemon.stop() == 0)
    }
}
