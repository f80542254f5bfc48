// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// The postgres sink against a real PostgreSQL 15 (a throwaway cluster per test): rows and
/// queries, exactly once under redelivery, the faults a database has, and two receivers
/// feeding one table.
@Suite("postgres sink (libpq, real PostgreSQL)")
struct PostgresSinkTests {
    static func event(_ id: String, _ event: String = "order.created", status: String = "Pending", note: String = "") -> String {
        #"{"event":"\#(event)","created":1764000000,"token":"\#(DaemonProcess.token)","data":{"id":"\#(id)","status":"\#(status)","note":"\#(note)","client":{"email":"jane@acme.example"}}}"#
    }

    static func sink(_ extra: String = "") -> String {
        #""instance": "rx-a", "sinks": [{"name": "db", "type": "postgres", "connection": "env:SPP_PG_URL", "table": "spp_events"\#(extra)}]"#
    }

    /// Posts bodies; returns how many were acknowledged (200).
    @discardableResult
    static func post(_ daemon: DaemonProcess, _ bodies: [String]) throws -> Int {
        let client = try RawHTTPClient(port: daemon.port)
        var acknowledged = 0
        for body in bodies {
            client.send(RawHTTPClient.post("/spp/main", body))
            if client.readResponse()?.status == 200 { acknowledged += 1 }
        }
        return acknowledged
    }

    @Test func eventsLandOnceAsRowsTheDatabaseCanQuery() throws {
        let pg = try PostgresCluster()
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: Self.sink(), environment: ["SPP_PG_URL": pg.url])
        // 20 events, one with a \u0000 jsonb refuses: the others of its batch still land.
        var bodies = (1...20).map { Self.event("O-\($0)", $0 % 2 == 0 ? "invoice.paid" : "order.created", status: $0 % 4 == 0 ? "Paid" : "Pending") }
        bodies[9] = Self.event("O-10", "invoice.paid", note: #"nul \u0000 here"#)
        #expect(try Self.post(daemon, bodies) == 20)
        try waitFor(30) { (try? pg.sql("SELECT count(*) FROM spp_events")) == "19" }
        try waitFor { dir.read("data/dead-letters/db.jsonl").contains("O-10") }
        #expect(dir.read("data/dead-letters/db.jsonl").contains("SQLSTATE 22P05"), "\(dir.read("data/dead-letters/db.jsonl"))")
        // Columns as documented, payload as jsonb.
        let row = try pg.sql("SELECT seq, instance, endpoint, category, event, extract(epoch FROM created)::bigint, received_at IS NOT NULL, "
            + "payload->'data'->>'id' FROM spp_events WHERE payload->'data'->>'id' = 'O-2'")
        #expect(row == "2|rx-a|main|invoices|invoice.paid|1764000000|t|O-2")
        #expect(try pg.sql("SELECT count(*) FROM spp_events WHERE payload->'data'->>'status' = 'Paid'") == "5")
        #expect(try pg.sql("SELECT event || '=' || count(*) FROM spp_events GROUP BY event ORDER BY event") == "invoice.paid=9\norder.created=10")
        #expect(try pg.sql("SELECT obj_description('spp_events'::regclass)") == "spp-hookd events, schema 1")
        let ids = try pg.sql("SELECT id FROM spp_events ORDER BY seq").split(separator: "\n").map(String.init)
        #expect(ids == dir.events().filter { ($0["payload"] as? [String: Any]).flatMap { $0["data"] as? [String: Any] }?["id"] as? String != "O-10" }
            .compactMap { $0["id"] as? String })
        // Delivered again (a replay): still once each.
        let replay = try runCommand(["replay", "--config", dir.file("config.json"), "--sink", "db"], environment: ["SPP_PG_URL": pg.url])
        #expect(replay.output.contains("db: 20 event(s), 19 delivered, 1 failed"), "\(replay.output)")
        #expect(try pg.sql("SELECT count(*), count(DISTINCT id) FROM spp_events") == "19|19")
        // The password is in the connection string only: never in the log or status.
        #expect(daemon.stop() == 0)
        for text in [daemon.stderr, dir.read("data/status.json"), replay.output, dir.read("data/dead-letters/db.jsonl")] {
            #expect(!text.contains(PostgresCluster.password))
        }
    }

    /// A restart of the server, a dropped connection, a statement timeout behind a lock and
    /// a missing privilege: each is retried, intake never waits, and nothing is lost.
    @Test func databaseFaultsAreRetriedAndNothingIsLost() throws {
        let pg = try PostgresCluster()
        let dir = TemporaryDirectory()
        // A short statement timeout from the connection string, and quick retries.
        let url = pg.url + "?options=-c%20statement_timeout%3D2000"
        let daemon = try DaemonProcess(dir: dir, extra: Self.sink(#", "retry": {"maxAttempts": 6, "initialSeconds": 0.05, "maxSeconds": 0.2}"#),
            environment: ["SPP_PG_URL": url])
        func rows() -> Int { Int((try? pg.sql("SELECT count(*) FROM spp_events")) ?? "") ?? -1 }
        try Self.post(daemon, (1...5).map { Self.event("A-\($0)") })
        try waitFor(30) { rows() == 5 }

        // The server restarts: the sink reconnects.
        try pg.restart()
        try Self.post(daemon, (6...10).map { Self.event("A-\($0)") })
        try waitFor(30) { rows() == 10 }

        // Its connection is killed mid-flight.
        try pg.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'spp-hookd'")
        try Self.post(daemon, (11...15).map { Self.event("A-\($0)") })
        try waitFor(30) { rows() == 15 }

        // A lock makes its INSERT hit the statement timeout; intake goes on meanwhile.
        let lock = try pg.session()
        lock.send("BEGIN; LOCK TABLE spp_events IN ACCESS EXCLUSIVE MODE;")
        try waitFor { (try? pg.sql("SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'spp_events'::regclass")) == "1" }
        #expect(try Self.post(daemon, (16...20).map { Self.event("A-\($0)") }) == 5)
        try waitFor(30) { (JQSinkTests.sinkStatus(dir, "db")?["lastError"] as? String)?.contains("57014") == true }
        // And its connection is killed in the middle of an INSERT (waiting for the lock).
        try waitFor(30) {
            (try? pg.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'spp-hookd' "
                + "AND wait_event_type = 'Lock'")) == "1"
        }
        lock.send("COMMIT;")
        lock.finish()
        try waitFor(30) { rows() == 20 }

        // No INSERT privilege: retried with the policy, then dead-lettered saying so.
        // (The table now belongs to another role: spp-hookd needs no more than INSERT on it.)
        try pg.sql("ALTER TABLE spp_events OWNER TO postgres; REVOKE ALL ON spp_events FROM spp;")
        try Self.post(daemon, [Self.event("A-21")])
        try waitFor(30) { dir.read("data/dead-letters/db.jsonl").contains("A-21") }
        let letter = dir.read("data/dead-letters/db.jsonl")
        #expect(letter.contains("permission denied for table spp_events") && letter.contains("42501") && letter.contains(#""attempts":6"#),
            "\(letter)")
        // Granted again, the dead letter is delivered by `dead-letters retry`.
        try pg.sql("GRANT INSERT ON spp_events TO spp;")
        let retried = try runCommand(["dead-letters", "retry", "--config", dir.file("config.json"), "--sink", "db"],
            environment: ["SPP_PG_URL": url])
        #expect(retried.status == 0, "\(retried.output)")
        #expect(try rows() == 21 && pg.sql("SELECT count(DISTINCT id) FROM spp_events") == "21")
        #expect(!daemon.stderr.contains(PostgresCluster.password))
    }

    /// The server's disk fills up (the table lives in a 1 MiB tmpfs tablespace): inserts fail
    /// with "No space left on device", are retried, and land once there is room again.
    @Test func aFullDiskOnTheServerIsRetriedUntilThereIsRoom() throws {
        let pg = try PostgresCluster()
        let small = try pg.smallTablespace(bytes: 1 << 20)
        defer { small.release() }
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: Self.sink(#", "batchSize": 20, "retry": {"maxAttempts": 1000, "initialSeconds": 0.05, "maxSeconds": 0.2}"#),
            environment: ["SPP_PG_URL": pg.url])
        try Self.post(daemon, [Self.event("D-0")])
        try waitFor(30) { (try? pg.sql("SELECT count(*) FROM spp_events")) == "1" }
        try pg.sql("ALTER TABLE spp_events SET TABLESPACE small")
        // Hard-to-compress notes of about 2 KiB: 1 MiB holds a few hundred.
        let note = { (i: Int) in (0..<56).map { _ in UUID().uuidString }.joined() + "\(i)" }
        #expect(try Self.post(daemon, (1...1200).map { Self.event("D-\($0)", note: note($0)) }) == 1200, "intake never waits for the sink")
        try waitFor(60) { (JQSinkTests.sinkStatus(dir, "db")?["lastError"] as? String)?.contains("No space left on device") == true }
        #expect((JQSinkTests.sinkStatus(dir, "db")?["lastError"] as? String)?.contains("53100") == true)
        try pg.sql("ALTER TABLE spp_events SET TABLESPACE pg_default")
        try waitFor(60) { (try? pg.sql("SELECT count(*), count(DISTINCT id) FROM spp_events")) == "1201|1201" }
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/dead-letters/db.jsonl")))
    }

    /// Two receivers behind one address, each with its own log and a postgres sink into the
    /// same table. Some events reach both (SPP retrying through the other), and one
    /// receiver is killed (-9) mid-stream and restarted: every acknowledged event ends in the
    /// table exactly once.
    @Test func twoReceiversFeedOneTableExactlyOnce() throws {
        let pg = try PostgresCluster()
        let dirA = TemporaryDirectory(), dirB = TemporaryDirectory()
        let sink = { (name: String) in #""instance": "\#(name)", "sinks": [{"name": "db", "type": "postgres", "connection": "env:SPP_PG_URL", "batchSize": 50}]"# }
        var a = try DaemonProcess(dir: dirA, extra: sink("rx-a"), environment: ["SPP_PG_URL": pg.url])
        let b = try DaemonProcess(dir: dirB, extra: sink("rx-b"), environment: ["SPP_PG_URL": pg.url])
        var acknowledged = Set<String>()
        var aUp = true
        for i in 1...300 {
            let id = "E-\(i)", body = Self.event(id)
            if i == 150 {  // A dies without warning; the balancer sends everything to B until A is back.
                a.kill(SIGKILL)
                _ = a.stop()
                aUp = false
            }
            if i == 200 {
                a = try DaemonProcess(dir: dirA, extra: sink("rx-a"), environment: ["SPP_PG_URL": pg.url])
                aUp = true
            }
            var targets: [DaemonProcess] = aUp ? (i % 2 == 0 ? [a] : [b]) : [b]
            if i % 5 == 0 && aUp { targets = [a, b] }  // delivered to both
            for t in targets where try Self.post(t, [body]) == 1 { acknowledged.insert(id) }
        }
        #expect(acknowledged.count == 300)
        try waitFor(60) { (try? pg.sql("SELECT count(*) FROM spp_events")) == "300" }
        let perEvent = try pg.sql("SELECT id || '=' || n FROM (SELECT payload->'data'->>'id' AS id, count(*) AS n FROM spp_events GROUP BY 1) c")
        let counts = Dictionary(uniqueKeysWithValues: perEvent.split(separator: "\n").map { line in
            let parts = line.split(separator: "=")
            return (String(parts[0]), Int(parts[1]) ?? 0)
        })
        #expect(Set(counts.keys) == acknowledged)
        #expect(counts.values.allSatisfy { $0 == 1 })
        #expect(try pg.sql("SELECT string_agg(DISTINCT instance, ',' ORDER BY instance) FROM spp_events") == "rx-a,rx-b")
        // Both sinks got to the end of their logs without a dead letter: the events both had
        // were skipped by the table, not refused.
        for dir in [dirA, dirB] {
            try waitFor {
                guard let status = try? JSONSerialization.jsonObject(with: Data(dir.read("data/status.json").utf8)) as? [String: Any],
                    let last = status["lastSeq"] as? Int, let sink = JQSinkTests.sinkStatus(dir, "db") else { return false }
                return sink["cursorSeq"] as? Int == last
            }
            #expect(!FileManager.default.fileExists(atPath: dir.file("data/dead-letters/db.jsonl")))
        }
    }

    @Test func checkConfigTestsTheConnectionAndNeverShowsThePassword() throws {
        let pg = try PostgresCluster()
        let dir = TemporaryDirectory()
        try """
            {"listen": "127.0.0.1:0", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["a-long-enough-token-0123456789"]}],
             \(Self.sink())}
            """.write(toFile: dir.file("config.json"), atomically: true, encoding: .utf8)
        let ok = try runCommand(["check-config", "--test-connection", dir.file("config.json")], environment: ["SPP_PG_URL": pg.url])
        #expect(ok.status == 0 && ok.output.contains("sinks[0] (db): connected to PostgreSQL 15 as spp; table spp_events ready, INSERT allowed"),
            "\(ok.output)")
        let wrong = pg.url.replacingOccurrences(of: PostgresCluster.password, with: "wrong-\(PostgresCluster.password)")
        let refused = try runCommand(["check-config", "--test-connection", dir.file("config.json")], environment: ["SPP_PG_URL": wrong])
        #expect(refused.status == 1 && refused.output.contains("password authentication failed for user \"spp\""), "\(refused.output)")
        let malformed = "host=127.0.0.1 password=\(PostgresCluster.password) port"
        let bad = try runCommand(["check-config", dir.file("config.json")], environment: ["SPP_PG_URL": malformed])
        #expect(bad.status == 1 && bad.output.contains("sinks[0].connection: not a libpq connection string"), "\(bad.output)")
        for output in [ok.output, refused.output, bad.output] { #expect(!output.contains(PostgresCluster.password)) }
        // try-sink shows what goes into the payload column: SPP's envelope, not the whole log line.
        let tried = try runCommand(["try-sink", "-c", dir.file("config.json"), "--sink", "db", "--event", "invoice.paid"])
        let shown = tried.output.split(separator: "\n").last.map(String.init) ?? ""
        #expect(tried.status == 0 && shown.hasPrefix(#"{"event":"invoice.paid","created":"#) && !shown.contains(#""seq":"#), "\(tried.output)")
    }
}
