// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// `where` and `transform` in the real daemon: what each kind of sink then receives, a
/// program that fails for one event, one that never ends, and programs changed by SIGHUP.
@Suite("jq where/transform in the daemon")
struct JQSinkTests {
    static let signingSecret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

    static func invoice(_ id: String, total: String) -> String {
        #"{"event":"invoice.paid","created":1700000000,"token":"\#(DaemonProcess.token)","data":{"id":"\#(id)","total":"\#(total)","client":{"email":"jane@acme.example"}}}"#
    }

    static func post(_ daemon: DaemonProcess, _ bodies: [String]) throws {
        let client = try RawHTTPClient(port: daemon.port)
        for body in bodies {
            client.send(RawHTTPClient.post("/spp/main", body))
            #expect(client.readResponse()?.status == 200)
        }
    }

    static func sinkStatus(_ dir: TemporaryDirectory, _ name: String) -> [String: Any]? {
        guard let status = try? JSONSerialization.jsonObject(with: Data(dir.read("data/status.json").utf8)) as? [String: Any],
            let sinks = status["sinks"] as? [[String: Any]]
        else { return nil }
        return sinks.first { $0["name"] as? String == name }
    }

    static let invoices = [("INV-1", "500"), ("INV-2", "1500"), ("INV-3", "n/a"), ("INV-4", "2000")]

    @Test func whereSelectsAndTransformShapesWhatEachSinkSends() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir, secret: Self.signingSecret)
        defer { receiver.stop() }
        let hook = try FanoutTests.script(dir, "hook.sh", """
            cat >> "\(dir.file("stdin.txt"))"; echo >> "\(dir.file("stdin.txt"))"
            echo "$SPP_EVENT ${FWD_URL:-no-url} ${FWD_SECRET:-no-secret}" >> "\(dir.file("env.txt"))"
            """)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [
              {"name": "big", "type": "file", "path": "\(dir.file("big.jsonl"))", "where": ".payload.data.total | tonumber > 1000"},
              {"name": "lines", "type": "file", "path": "\(dir.file("lines.jsonl"))",
               "transform": "{id: .payload.data.id, total: .payload.data.total, sink: $sink, endpoint: $endpoint}"},
              {"name": "hook", "type": "shell", "command": ["\(hook)"], "transform": ".payload.data.id"},
              {"name": "fwd", "type": "forward", "url": "env:FWD_URL", "signingSecret": "env:FWD_SECRET",
               "transform": ["def who: .payload.data.client.email;", "{text: \\"paid \\\\(.payload.data.id) by \\\\(who)\\"}"]}]
            """, environment: ["FWD_URL": "http://127.0.0.1:\(receiver.port)/ok", "FWD_SECRET": Self.signingSecret])
        try Self.post(daemon, Self.invoices.map { Self.invoice($0.0, total: $0.1) })
        try waitFor {
            FanoutTests.lines(dir.file("lines.jsonl")).count == 4 && FanoutTests.lines(dir.file("env.txt")).count == 4
                && receiver.requests(to: "/ok").count == 4 && (Self.sinkStatus(dir, "big")?["cursorSeq"] as? Int) == 4
        }
        let log = FanoutTests.lines(dir.file("data/events.jsonl"))
        // where: the stored lines of the invoices over 1,000; "n/a" is an error, dead-lettered with jq's message.
        #expect(FanoutTests.lines(dir.file("big.jsonl")) == [log[1], log[3]])
        let big = try #require(Self.sinkStatus(dir, "big"))
        #expect(big["skipped"] as? Int == 1 && big["deadLettered"] as? Int == 1 && big["delivered"] as? Int == 2, "\(big)")
        let lastError = big["lastError"] as? String ?? ""
        #expect(lastError.hasPrefix("sinks[0].where: jq: error: ") && lastError.contains("n/a"), "\(lastError)")
        #expect(dir.read("data/dead-letters/big.jsonl").contains("INV-3"))
        // transform: a file sink writes the program's output, compact.
        #expect(FanoutTests.lines(dir.file("lines.jsonl")) == Self.invoices.map {
            #"{"id":"\#($0.0)","total":"\#($0.1)","sink":"lines","endpoint":"main"}"#
        })
        // A shell hook gets it on stdin; its environment still describes the event, not the secrets.
        #expect(FanoutTests.lines(dir.file("stdin.txt")) == Self.invoices.map { "\"\($0.0)\"" })
        #expect(Set(FanoutTests.lines(dir.file("env.txt"))) == ["invoice.paid no-url no-secret"])
        // A forward sink posts it, signed over the body it sends; its URL came from the environment.
        let posted = receiver.requests(to: "/ok")
        #expect(posted.compactMap { $0["body"] as? String } == Self.invoices.map { #"{"text":"paid \#($0.0) by jane@acme.example"}"# })
        #expect(posted.allSatisfy { $0["signature_ok"] as? Bool == true })
        #expect(!dir.read("data/events.jsonl").contains("paid INV"), "the log keeps the event as received")
    }

    /// jq has no time limit. A program that never ends holds its own sink's delivery thread,
    /// and only that: intake and the other sinks go on, and the daemon still stops.
    @Test func aProgramThatNeverEndsHoldsOnlyItsOwnSink() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "stuck", "type": "file", "path": "\(dir.file("stuck.jsonl"))", "where": "last(repeat(1)) | true"},
                      {"name": "after", "type": "file", "path": "\(dir.file("after.jsonl"))"}]
            """)
        try Self.post(daemon, (1...5).map { Self.invoice("INV-\($0)", total: "10") })
        try waitFor { FanoutTests.lines(dir.file("after.jsonl")).count == 5 }
        try waitFor { (Self.sinkStatus(dir, "after")?["cursorSeq"] as? Int) == 5 }
        #expect((Self.sinkStatus(dir, "stuck")?["cursorSeq"] as? Int) == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.file("stuck.jsonl")))
        try Self.post(daemon, [Self.invoice("INV-6", total: "10")])
        try waitFor { FanoutTests.lines(dir.file("after.jsonl")).count == 6 }
        #expect(daemon.stop() == 0, "\(daemon.stderr.suffix(2000))")
        // Every other thread ended; the stop names the one that could not.
        try waitFor { daemon.stderr.contains("threads still running after the stop: ") }
        let left = daemon.stderr.split(separator: "\n").first { $0.contains("threads still running") } ?? ""
        let names = left.split(separator: ": ").last?.split(separator: ", ") ?? []
        #expect(!names.isEmpty && names.allSatisfy { $0.hasSuffix(":stuck") }, "\(left)")
    }

    @Test func sighupReplacesProgramsAndKeepsThemWhenTheNewOnesDoNotCompile() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "out", "type": "file", "path": "\(dir.file("out.jsonl"))", "transform": "{v: 1, id: .payload.data.id}"}]
            """)
        try Self.post(daemon, [Self.invoice("A", total: "1")])
        try waitFor { FanoutTests.lines(dir.file("out.jsonl")).count == 1 }
        let config = dir.read("config.json")
        // A new transform and a where added to the same sink: both apply to the events that follow.
        try config.replacingOccurrences(of: #""transform": "{v: 1, id: .payload.data.id}""#,
            with: #""transform": "{v: 2, id: .payload.data.id}", "where": ".payload.data.id != \"skip\"""#)
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("configuration reloaded") }
        try Self.post(daemon, [Self.invoice("skip", total: "1"), Self.invoice("B", total: "1")])
        try waitFor { FanoutTests.lines(dir.file("out.jsonl")).count == 2 }
        // A program that does not compile: the reload is refused, naming the key, and the running programs stay.
        try config.replacingOccurrences(of: #""transform": "{v: 1, id: .payload.data.id}""#, with: #""transform": "{v: 3, id: }""#)
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("reload failed; keeping the running configuration") }
        #expect(daemon.stderr.contains("sinks[0].transform: jq: syntax error, unexpected '}' at line 1"))
        try Self.post(daemon, [Self.invoice("C", total: "1")])
        try waitFor { FanoutTests.lines(dir.file("out.jsonl")).count == 3 }
        #expect(FanoutTests.lines(dir.file("out.jsonl")) == [#"{"v":1,"id":"A"}"#, #"{"v":2,"id":"B"}"#, #"{"v":2,"id":"C"}"#])
        // Other changes to a sink still need a restart.
        try config.replacingOccurrences(of: dir.file("out.jsonl"), with: dir.file("moved.jsonl"))
            .write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("sinks: changing them (or api) needs a restart") }
    }

    @Test func checkConfigAndServeRefuseAProgramThatDoesNotCompile() throws {
        let dir = TemporaryDirectory()
        try """
            {"listen": "127.0.0.1:0", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["a-long-enough-token-0123456789"]}],
             "sinks": [{"name": "ok", "type": "file", "path": "\(dir.file("x"))", "where": "true"},
                       {"name": "bad", "type": "file", "path": "\(dir.file("y"))", "transform": ". ^ 1"}]}
            """.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        let message = "sinks[1].transform: jq: syntax error, unexpected INVALID_CHARACTER at line 1"
        let check = try runCommand(["check-config", dir.file("config.json")])
        #expect(check.status == 1 && check.output.contains(message), "\(check.output)")
        let serve = try runCommand(["serve", "--config", dir.file("config.json")])
        #expect(serve.status != 0 && serve.output.contains(message), "\(serve.output)")
    }

    @Test func trySinkShowsWhatASinkWouldSendWithoutDelivering() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir)
        defer { receiver.stop() }
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "chat", "type": "forward", "url": "http://127.0.0.1:\(receiver.port)/ok",
                       "where": ".category == \\"invoices\\"", "transform": "{text: \\"\\\\(.event) \\\\(.payload.data.id)\\"}"},
                      {"name": "fails", "type": "file", "path": "\(dir.file("f"))", "where": ".payload.data.total | tonumber > 0"}]
            """)
        try Self.post(daemon, [Self.invoice("INV-9", total: "12")])
        let config = dir.file("config.json")
        let sample = try runCommand(["try-sink", "-c", config, "--sink", "chat", "--event", "invoice.paid"])
        #expect(sample.status == 0 && sample.output.contains(#"{"text":"invoice.paid INV-2026-0117"}"#), "\(sample.output)")
        let logged = try runCommand(["try-sink", "-c", config, "--sink", "chat", "--seq", "1"])
        #expect(logged.status == 0 && logged.output.contains(#"{"text":"invoice.paid INV-9"}"#), "\(logged.output)")
        let passed = try runCommand(["try-sink", "-c", config, "--sink", "chat", "--event", "order.created"])
        #expect(passed.status == 2 && passed.output.contains("passed over: where gave false"), "\(passed.output)")
        let failed = try runCommand(["try-sink", "-c", config, "--sink", "fails", "--event", "order.created"])
        #expect(failed.status == 1 && failed.output.contains("would be dead-lettered: sinks[1].where: jq: error: null (null) cannot be parsed"),
            "\(failed.output)")
        let missing = try runCommand(["try-sink", "-c", config, "--sink", "chat", "--seq", "99"])
        #expect(missing.status == 1 && missing.output.contains("no event with seq 99"))
        // Only the daemon's own delivery of INV-9 reached the receiver.
        try waitFor { receiver.requests(to: "/ok").count == 1 }
        #expect(receiver.requests(to: "/ok").compactMap { $0["body"] as? String } == [#"{"text":"invoice.paid INV-9"}"#])
    }
}
