// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Synchronization
import Testing

/// Sinks fed from the log by the real daemon: real files, real scripts.
@Suite("Fan-out: file and shell sinks, retries, dead letters, replay")
struct FanoutTests {
    /// Writes an executable script into `dir`.
    static func script(_ dir: TemporaryDirectory, _ name: String, _ body: String) throws -> String {
        let path = dir.file(name)
        try ("#!/bin/sh\n" + body).write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    static func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    static func post(_ daemon: DaemonProcess, _ events: [(String, String)]) throws -> [Int] {
        let client = try RawHTTPClient(port: daemon.port)
        return try events.map { event, id in
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: event, id: id)))
            let r = try #require(client.readResponse())
            #expect(r.status == 200)
            return r.json["seq"] as? Int ?? -1
        }
    }

    @Test func fileSinkAppendsMatchingLinesPerCategory() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "files", "type": "file", "path": "\(dir.file("out"))/{category}.jsonl", "categories": ["orders", "invoices"]}]
            """)
        _ = try Self.post(daemon, [("order.created", "A"), ("invoice.paid", "B"), ("ticket.created", "C"), ("order.tagged", "D")])
        try waitFor { Self.lines(dir.file("out/orders.jsonl")).count == 2 && Self.lines(dir.file("out/invoices.jsonl")).count == 1 }
        let logLines = Self.lines(dir.file("data/events.jsonl"))
        #expect(Self.lines(dir.file("out/orders.jsonl")) == [logLines[0], logLines[3]])
        #expect(Self.lines(dir.file("out/invoices.jsonl")) == [logLines[1]])
        #expect(!FileManager.default.fileExists(atPath: dir.file("out/tickets.jsonl")))
        let mode = try FileManager.default.attributesOfItem(atPath: dir.file("out/orders.jsonl"))[.posixPermissions] as? Int
        #expect(mode == 0o600)
        try waitFor { dir.read("data/cursors/files.json").contains("\"seq\":4") }
        // systemd's STATUS= counts deliveries and failing sinks.
        let status = daemon.manager.collect(until: Date().addingTimeInterval(60)) { $0.contains { $0.fields["STATUS"]?.contains("delivered 3,") == true } }
        #expect(status.contains { $0.fields["STATUS"] == "received 4, stored 4, duplicates 0, rejected 0, failed 0, delivered 3, failing sinks 0" },
            "\(status.map(\.raw))")
    }

    @Test func shellSinkGetsArgumentsEnvironmentAndStdin() throws {
        let dir = TemporaryDirectory()
        let hook = try Self.script(dir, "hook.sh", """
            printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\\n' "$1" "$SPP_EVENT" "$SPP_CATEGORY" "$SPP_SEQ" "$SPP_EVENT_ID" "$SPP_ENDPOINT" \
              "$SPP_CREATED" "$SPP_DATA_ID" "${NOTIFY_SOCKET:-none}" "$(ls /proc/self/fd | wc -l)" >> "\(dir.file("env.txt"))"
            cat >> "\(dir.file("stdin.txt"))"
            echo "hello from the hook"
            """)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "hook", "type": "shell", "command": ["\(hook)", "arg with spaces; $(not expanded)"], "events": ["order.*"]}]
            """)
        let seqs = try Self.post(daemon, [("order.created", "A-1"), ("invoice.paid", "B"), ("order.status_changed", "A-2")])
        // The hook writes env.txt before it copies its stdin: wait for both.
        try waitFor { Self.lines(dir.file("env.txt")).count == 2 && Self.lines(dir.file("stdin.txt")).count == 2 }
        let env = Self.lines(dir.file("env.txt")).map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
        let log = dir.events()
        #expect(env[0][0] == "arg with spaces; $(not expanded)")
        #expect(env[0][1] == "order.created" && env[1][1] == "order.status_changed")
        #expect(env[0][2] == "orders")
        #expect(env[0][3] == "\(seqs[0])" && env[1][3] == "\(seqs[2])")
        #expect(env[0][4] == log[0]["id"] as? String)
        #expect(env[0][5] == "main")
        #expect(env[0][6] == "1558608668")
        #expect(env[0][7] == "A-1" && env[1][7] == "A-2")
        #expect(env[0][8] == "none", "systemd's NOTIFY_SOCKET must not reach hooks")
        #expect(Int(env[0][9].trimmingCharacters(in: .whitespaces)) ?? 99 <= 5, "hook inherited file descriptors: \(env[0][9])")
        #expect(Self.lines(dir.file("stdin.txt")) == [Self.lines(dir.file("data/events.jsonl"))[0], Self.lines(dir.file("data/events.jsonl"))[2]])
        try waitFor { daemon.stderr.contains("hook stdout: hello from the hook") }
    }

    @Test func failingHookIsRetriedUntilItSucceeds() throws {
        let dir = TemporaryDirectory()
        let hook = try Self.script(dir, "flaky.sh", """
            n=$(cat "\(dir.file("count"))" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "\(dir.file("count"))"
            if [ $n -lt 3 ]; then echo "not yet ($n)" >&2; exit 7; fi
            echo "$SPP_SEQ" >> "\(dir.file("done.txt"))"
            """)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "flaky", "type": "shell", "command": ["\(hook)"], "retry": {"maxAttempts": 5, "initialSeconds": 0.05, "maxSeconds": 0.2}}]
            """)
        _ = try Self.post(daemon, [("order.created", "A")])
        try waitFor { Self.lines(dir.file("done.txt")) == ["1"] }
        #expect(dir.read("count").trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        try waitFor { daemon.stderr.contains("exit status 7: not yet (1)") }
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/dead-letters/flaky.jsonl")))
    }

    @Test func timeoutKillsTheHooksProcessGroupAndDeadLetters() throws {
        let dir = TemporaryDirectory()
        let marker = "spp-timeout-\(UInt32.random(in: 0...UInt32.max))"
        // The child is `sleep` under a name of this test's own, so the check below sees
        // only this test's processes, not any `sleep 30` on the machine.
        let sleeper = dir.file("sleep-\(marker)")
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: sleeper)
        let hook = try Self.script(dir, "slow.sh", "\"\(sleeper)\" 30 & wait  # \(marker)\n")
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "slow", "type": "shell", "command": ["\(hook)", "\(marker)"], "timeoutSeconds": 0.3,
                       "retry": {"maxAttempts": 2, "initialSeconds": 0.05, "maxSeconds": 0.1}}]
            """)
        _ = try Self.post(daemon, [("order.created", "A")])
        try waitFor(20) { dir.deadLetters("slow").count >= 1 }
        let letter = try #require(dir.deadLetters("slow").first)
        #expect(letter["attempts"] as? Int == 2)
        #expect((letter["lastError"] as? String ?? "").contains("timed out"))
        #expect(letter["seq"] as? Int == 1)
        #expect(((letter["record"] as? [String: Any])?["event"] as? String) == "order.created")
        // Neither the script nor its `sleep` child survive.
        try waitFor(30) { !processExists(containing: marker) }
    }

    @Test func aChildThatOutlivesTheHookDoesNotHoldDelivery() throws {
        let dir = TemporaryDirectory()
        let sleeper = dir.file("sleep-spp-fork-\(UInt32.random(in: 0...UInt32.max))")  // this test's own sleep
        try FileManager.default.copyItem(atPath: "/bin/sleep", toPath: sleeper)
        let hook = try Self.script(dir, "fork.sh", """
            ("\(sleeper)" 60; echo late >> "\(dir.file("late.txt"))") &
            echo "$SPP_SEQ" >> "\(dir.file("done.txt"))"
            exit 0
            """)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "fork", "type": "shell", "command": ["\(hook)"], "timeoutSeconds": 30}]
            """)
        let start = Date()
        _ = try Self.post(daemon, [("order.created", "A"), ("order.created", "B")])
        try waitFor(30) { Self.lines(dir.file("done.txt")) == ["1", "2"] && dir.read("data/cursors/fork.json").contains("\"seq\":2") }
        #expect(Date().timeIntervalSince(start) < 30, "delivery waited for the hook's 60 s child")
        try waitFor(30) { !processExists(containing: sleeper) }
        #expect(!FileManager.default.fileExists(atPath: dir.file("late.txt")))
    }

    @Test(arguments: [true, false])
    func orderedHoldsTheCursorUnorderedLetsOthersPass(_ ordered: Bool) throws {
        let dir = TemporaryDirectory()
        let hook = try Self.script(dir, "picky.sh", """
            if [ "$SPP_DATA_ID" = "bad" ] && [ ! -e "\(dir.file("fixed"))" ]; then echo "cannot handle $SPP_DATA_ID" >&2; exit 1; fi
            echo "$SPP_DATA_ID" >> "\(dir.file("done.txt"))"
            """)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "picky", "type": "shell", "command": ["\(hook)"], "ordered": \(ordered),
                       "retry": {"maxAttempts": 4, "initialSeconds": 0.3, "maxSeconds": 0.3}}]
            """)
        _ = try Self.post(daemon, [("order.created", "bad"), ("order.created", "good")])
        try waitFor(20) { dir.deadLetters("picky").count >= 1 && Self.lines(dir.file("done.txt")) == ["good"] }
        // Ordered: "good" could only pass once "bad" was dead-lettered (~1 s of retries).
        // Unordered: "good" went through while "bad" was still retrying.
        let deadAt = try FileManager.default.attributesOfItem(atPath: dir.file("data/dead-letters/picky.jsonl"))[.modificationDate] as! Date
        let doneAt = try FileManager.default.attributesOfItem(atPath: dir.file("done.txt"))[.modificationDate] as! Date
        #expect(ordered ? doneAt >= deadAt : doneAt < deadAt, "done \(doneAt) dead \(deadAt)")

        // Fix the hook, then retry the dead letter with the CLI.
        #expect(FileManager.default.createFile(atPath: dir.file("fixed"), contents: nil))
        let list = try runCommand(["dead-letters", "list", "--config", dir.file("config.json")])
        #expect(list.output.contains("picky\tseq 1\torder.created\t4 attempt(s)"), "\(list.output)")
        let retry = try runCommand(["dead-letters", "retry", "--config", dir.file("config.json"), "--sink", "picky"])
        #expect(retry.status == 0, "\(retry.output)")
        #expect(retry.output.contains("picky: 1 event(s), 1 delivered, 0 failed"))
        #expect(Self.lines(dir.file("done.txt")) == ["good", "bad"])
        #expect(try runCommand(["dead-letters", "list", "--config", dir.file("config.json")]).output.contains("0 dead letter(s)"))
    }

    @Test func replaySelectsBySeqAndEvent() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "all", "type": "file", "path": "\(dir.file("all.jsonl"))"}]
            """)
        _ = try Self.post(daemon, [("order.created", "1"), ("invoice.paid", "2"), ("order.tagged", "3"), ("order.created", "4")])
        try waitFor { Self.lines(dir.file("all.jsonl")).count == 4 }
        let r = try runCommand(["replay", "--config", dir.file("config.json"), "--sink", "all", "--from-seq", "2", "--event", "order.*"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("all: 2 event(s), 2 delivered, 0 failed"))
        let seqs = Self.lines(dir.file("all.jsonl")).compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["seq"] as? Int
        }
        #expect(seqs == [1, 2, 3, 4, 3, 4])
        let bad = try runCommand(["replay", "--config", dir.file("config.json"), "--sink", "nope"])
        #expect(bad.status == 1 && bad.output.contains("no sink named \"nope\" (configured: all)"))
    }

    @Test func kill9MidDeliveryThenRestartDeliversEveryAcknowledgedEvent() throws {
        let dir = TemporaryDirectory()
        let hook = try Self.script(dir, "record.sh", "echo \"$SPP_EVENT_ID\" >> \"\(dir.file("hook.txt"))\"\n")
        let receiver = try Receiver(dir: dir)
        defer { receiver.stop() }
        let sinks = """
            "sinks": [{"name": "file", "type": "file", "path": "\(dir.file("file.jsonl"))"},
                      {"name": "hook", "type": "shell", "command": ["\(hook)"], "concurrency": 4, "events": ["order.*"]},
                      {"name": "forward", "type": "forward", "url": "http://127.0.0.1:\(receiver.port)/ok", "concurrency": 2,
                       "categories": ["invoices"]}]
            """
        let daemon = try DaemonProcess(dir: dir, extra: sinks)
        let load = LoadGenerator(port: daemon.port, clients: 6) { $0 % 3 == 0 ? "invoice.paid" : "order.created" }
        try waitFor { Self.lines(dir.file("hook.txt")).count >= 50 }
        daemon.kill(SIGKILL)
        daemon.process.waitUntilExit()
        let acknowledged = load.stop().map(\.marker)
        let restarted = try DaemonProcess(dir: dir, extra: sinks)
        let lastSeq = dir.events().count
        try waitFor(60) {
            ["file", "hook", "forward"].allSatisfy { dir.read("data/cursors/\($0).json").contains("\"seq\":\(lastSeq),") }
        }
        restarted.stop()
        let log = dir.events()
        var idByData: [String: String] = [:]
        var eventByData: [String: String] = [:]
        for e in log {
            let data = ((e["payload"] as? [String: Any])?["data"] as? [String: Any])?["id"] as? String ?? ""
            idByData[data] = e["id"] as? String
            eventByData[data] = e["event"] as? String
        }
        let fileIDs = Self.lines(dir.file("file.jsonl")).compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])?["id"] as? String }
        let hookIDs = Self.lines(dir.file("hook.txt"))
        let forwardIDs = receiver.requests(to: "/ok").compactMap { ($0["headers"] as? [String: String])?["X-SPP-Event"] == "invoice.paid"
            ? (try? JSONSerialization.jsonObject(with: Data(($0["body"] as? String ?? "").utf8)) as? [String: Any])?["id"] as? String : nil }
        #expect(acknowledged.count > 50)
        var missingFile = 0, missingHook = 0, missingForward = 0
        let fileSet = Set(fileIDs), hookSet = Set(hookIDs), forwardSet = Set(forwardIDs)
        for data in acknowledged {
            guard let id = idByData[data] else {
                missingFile += 1
                continue
            }
            if !fileSet.contains(id) { missingFile += 1 }
            if eventByData[data] == "order.created" && !hookSet.contains(id) { missingHook += 1 }
            if eventByData[data] == "invoice.paid" && !forwardSet.contains(id) { missingForward += 1 }
        }
        #expect(missingFile == 0 && missingHook == 0 && missingForward == 0,
            "missing: file \(missingFile), hook \(missingHook), forward \(missingForward)")
        #expect(forwardIDs.count - forwardSet.count <= 2, "forward duplicates \(forwardIDs.count - forwardSet.count)")
        // At-least-once: duplicates only from what was in flight at the kill.
        #expect(fileIDs.count - fileSet.count <= 512, "file duplicates \(fileIDs.count - fileSet.count)")
        #expect(hookIDs.count - hookSet.count <= 4, "hook duplicates \(hookIDs.count - hookSet.count)")
        print("kill -9 mid-delivery: \(acknowledged.count) acknowledged; file \(fileIDs.count) lines (\(fileIDs.count - fileSet.count) dup), "
            + "hook \(hookIDs.count) runs (\(hookIDs.count - hookSet.count) dup), forward \(forwardIDs.count) posts (\(forwardIDs.count - forwardSet.count) dup)")
    }
}


@Suite("Dead letters left by an interrupted retry")
struct InterruptedRetryTests {
    @Test func leftoversAreListedAndRetried() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("data/dead-letters"), withIntermediateDirectories: true)
        try """
            {"listen": "127.0.0.1:0", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["x"]}],
             "sinks": [{"name": "f", "type": "file", "path": "\(dir.file("out.jsonl"))"}]}
            """.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        let record = EventRecord(
            seq: 7, id: "0123456789abcdef0123456789abcdef", receivedAt: Timestamp(millisecondsSinceEpoch: 1_795_450_870_000),
            endpoint: "main", category: .orders, event: "order.created", created: 1, payload: JSONObject())
        let line = String(decoding: record.line.dropLast(), as: UTF8.self)
        let letter = #"{"sink":"f","seq":7,"id":"0123456789abcdef0123456789abcdef","event":"order.created","attempts":8,"failedAt":"x","lastError":"boom","record":"# + line + "}\n"
        try letter.write(toFile: dir.file("data/dead-letters/f.jsonl.taken-1-1"), atomically: true, encoding: .utf8)
        let list = try runCommand(["dead-letters", "list", "--config", dir.file("config.json")])
        #expect(list.output.contains("f\tseq 7\torder.created\t8 attempt(s)"), "\(list.output)")
        let retry = try runCommand(["dead-letters", "retry", "--config", dir.file("config.json"), "--sink", "f"])
        #expect(retry.status == 0 && retry.output.contains("f: 1 event(s), 1 delivered, 0 failed"), "\(retry.output)")
        #expect(dir.read("out.jsonl") == line + "\n")
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/dead-letters/f.jsonl.taken-1-1")))
    }
}
