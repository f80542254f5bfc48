// SPDX-License-Identifier: MIT
import Dispatch
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Synchronization
import Testing

@Suite("Event log: durability, group commit, dedup, recovery")
struct EventLogTests {
    let dir = TemporaryDirectory()
    let logger = Logger.quiet

    func open(_ clock: ManualClock, window: Int = 86400) throws -> (EventLog, FaultyFile) {
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        let (file, _) = try POSIXAppendFile.open(dir.file("data/events.jsonl"))
        let faulty = FaultyFile(file)
        let log = try EventLog(file: faulty, path: dir.file("data/events.jsonl"), dedupWindowSeconds: window, clock: clock, logger: logger)
        return (log, faulty)
    }

    /// Appends one event and waits for its outcome.
    static func append(_ log: EventLog, _ clock: ManualClock, id: String, event: String = "order.created") -> EventLog.Outcome {
        let result = Mutex<EventLog.Outcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        let tail = EventRecord.tail(id: id, receivedAt: clock.now(), endpoint: "main", category: .orders, event: event,
            created: 1, payload: JSONObject([.init(key: "event", value: .string(event))]))
        log.append(id: id, category: .orders, receivedAt: clock.now(), tail: tail) { outcome in
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }

    static func id(_ n: Int) -> String {
        let hex = String(n, radix: 16)
        return String(repeating: "0", count: 32 - hex.count) + hex
    }

    @Test func concurrentAppendsShareSyncs() throws {
        let clock = ManualClock()
        let (log, file) = try open(clock)
        file.faults.withLock { $0.syncDelayMicroseconds = 2000 }
        let n = 400
        let seqs = Mutex<[UInt64]>([])
        let group = DispatchGroup()
        // Many requests in flight at once, as under concurrent connections.
        for i in 1...n {
            group.enter()
            let id = Self.id(i)
            let tail = EventRecord.tail(id: id, receivedAt: clock.now(), endpoint: "main", category: .orders,
                event: "order.created", created: 1, payload: JSONObject())
            log.append(id: id, category: .orders, receivedAt: clock.now(), tail: tail) { outcome in
                if case .stored(let seq) = outcome { seqs.withLock { $0.append(seq) } }
                group.leave()
            }
        }
        group.wait()
        let stored = seqs.withLock { $0 }.sorted()
        #expect(stored == (1...UInt64(n)).map { $0 })
        let syncCount = file.syncs.withLock { $0 }
        #expect(syncCount < n / 2, "group commit: \(syncCount) syncs for \(n) events")
        let lines = dir.events()
        #expect(lines.count == n)
        #expect(lines.map { $0["seq"] as! Int } == (1...n).map { $0 }, "lines are in seq order")
    }

    @Test func duplicatesWithinTheWindowAreNotStoredTwice() throws {
        let clock = ManualClock()
        let (log, _) = try open(clock, window: 60)
        #expect(Self.append(log, clock, id: Self.id(7)) == .stored(seq: 1))
        #expect(Self.append(log, clock, id: Self.id(7)) == .duplicate(seq: 1, category: .orders))
        clock.advance(seconds: 61)
        #expect(Self.append(log, clock, id: Self.id(7)) == .stored(seq: 2))
        #expect(dir.events().count == 2)
    }

    @Test func sequenceAndDedupSurviveARestart() throws {
        let clock = ManualClock()
        do {
            let (log, _) = try open(clock)
            #expect(Self.append(log, clock, id: Self.id(1)) == .stored(seq: 1))
            #expect(Self.append(log, clock, id: Self.id(2)) == .stored(seq: 2))
            log.drain()
        }
        let (log, _) = try open(clock)
        #expect(log.recovery.lines == 2)
        #expect(log.recovery.dedupEntries == 2)
        #expect(Self.append(log, clock, id: Self.id(2)) == .duplicate(seq: 2, category: .orders))
        #expect(Self.append(log, clock, id: Self.id(3)) == .stored(seq: 3))
    }

    /// Writes seqs 1 and 2 through the log (unless `events` is 0), then `bytes` straight to
    /// the file behind it; returns where those bytes start.
    @discardableResult
    func twoEventsThen(_ bytes: String, _ clock: ManualClock, events: Int = 2) throws -> UInt64 {
        if events > 0 {
            let (log, _) = try open(clock)
            _ = Self.append(log, clock, id: Self.id(1))
            _ = Self.append(log, clock, id: Self.id(2))
            log.drain()
        }
        let handle = try #require(FileHandle(forWritingAtPath: dir.file("data/events.jsonl")))
        let start = handle.seekToEndOfFile()
        handle.write(Data(bytes.utf8))
        handle.closeFile()
        return start
    }

    /// What a crash during a write leaves: an unterminated last line (never acknowledged).
    @Test(arguments: [
        "{\"seq\":3,\"id\":\"000", "{\"seq\":3,\"id\":\"0000\u{0}\u{0}\u{0}\u{0}", "\u{0}\u{0}\u{0}", "garbage without newline",
    ])
    func tornTailIsCutOffAndKept(_ torn: String) throws {
        let clock = ManualClock()
        try twoEventsThen(torn, clock)
        let (log, _) = try open(clock)
        #expect(log.recovery.lastSeq == 2)
        #expect(log.recovery.tornBytes == Int64(torn.utf8.count))
        let side = try #require(log.recovery.savedTo)
        #expect(try String(contentsOfFile: side, encoding: .utf8) == torn)
        #expect(dir.read("data/events.jsonl").hasSuffix("}\n"))
        #expect(Self.append(log, clock, id: Self.id(3)) == .stored(seq: 3))
        #expect(dir.events().map { $0["seq"] as! Int } == [1, 2, 3])
    }

    /// A complete line may hold an acknowledged event: never cut, start-up stops and says where.
    /// (A line with NUL bytes is not complete: see ``aLineWithNULBytesIsReportedAndPassedOver``.)
    @Test(arguments: [
        "\n\n", "garbage\n{\"seq\":3}\n",
    ])
    func aDamagedCompleteLineStopsStartUpAndChangesNothing(_ damage: String) throws {
        let clock = ManualClock()
        let goodSize = try twoEventsThen(damage, clock)
        let before = dir.read("data/events.jsonl")
        do {
            _ = try open(clock)
            Issue.record("started on a damaged log")
        } catch {
            #expect("\(error)".contains("the complete line at byte \(goodSize) (after seq 2)"), "\(error)")
        }
        #expect(dir.read("data/events.jsonl") == before)
        #expect(!((try? FileManager.default.contentsOfDirectory(atPath: dir.file("data"))) ?? []).contains { $0.contains("torn") })
    }

    /// The audit's case: a body nested as deep as intake allows is one level deeper as a log
    /// line. It must read back (not be taken for damage) after a clean restart.
    @Test func theDeepestAcceptedPayloadReadsBackAfterARestart() throws {
        let clock = ManualClock()
        let deep = String(repeating: "[", count: JSONParser.defaultMaxDepth - 1) + String(repeating: "]", count: JSONParser.defaultMaxDepth - 1)
        let body = #"{"event":"order.created","created":1,"token":"t","data":"# + deep + "}"
        let object = try WebhookEnvelope.parseBody(Array(body.utf8), contentType: "application/json")
        let envelope = try WebhookEnvelope(validating: object)
        do {
            let (log, _) = try open(clock)
            _ = Self.append(log, clock, id: Self.id(1))
            let tail = EventRecord.tail(id: Self.id(2), receivedAt: clock.now(), endpoint: "main", category: .orders,
                event: "order.created", created: 1, payloadJSON: envelope.payloadJSON)
            let stored = Mutex<EventLog.Outcome?>(nil)
            let done = DispatchSemaphore(value: 0)
            log.append(id: Self.id(2), category: .orders, receivedAt: clock.now(), tail: tail) { outcome in
                stored.withLock { $0 = outcome }
                done.signal()
            }
            done.wait()
            #expect(stored.withLock { $0 } == .stored(seq: 2))
            _ = Self.append(log, clock, id: Self.id(3))
            log.drain()
        }
        let (log, _) = try open(clock)
        #expect(log.recovery.lines == 3 && log.recovery.tornBytes == 0)
        #expect(Self.append(log, clock, id: Self.id(4)) == .stored(seq: 4))
        let line = try #require(dir.read("data/events.jsonl").split(separator: "\n").dropFirst().first)
        #expect(EventRecord(line: Array(line.utf8)) != nil, "a reader of the log cannot read the deep line back")
    }

    @Test func eventNamesThatNeedEscapingSurviveRecovery() throws {
        let clock = ManualClock()
        do {
            let (log, _) = try open(clock)
            #expect(Self.append(log, clock, id: Self.id(1), event: #"odd"name\x"#) == .stored(seq: 1))
            #expect(Self.append(log, clock, id: Self.id(2)) == .stored(seq: 2))
            log.drain()
        }
        let (log, _) = try open(clock)
        #expect(log.recovery.lines == 2)
        #expect(log.recovery.tornBytes == 0)
        #expect(dir.events().first?["event"] as? String == #"odd"name\x"#)
    }

    @Test func aFailedWriteIsReportedAndCutOff() throws {
        let clock = ManualClock()
        let (log, file) = try open(clock)
        #expect(Self.append(log, clock, id: Self.id(1)) == .stored(seq: 1))
        file.faults.withLock { $0.failAppendAfter = 17 }
        guard case .unavailable = Self.append(log, clock, id: Self.id(2)) else {
            Issue.record("a failed write was acknowledged")
            return
        }
        // The half-written line is gone; the next event lands cleanly after the first.
        #expect(dir.events().count == 1)
        #expect(Self.append(log, clock, id: Self.id(2)) == .stored(seq: 3))
        #expect(dir.events().map { $0["seq"] as! Int } == [1, 3])
        #expect(dir.read("data/events.jsonl").split(separator: "\n").count == 2)
    }

    @Test func aFailedSyncIsNeverAcknowledged() throws {
        let clock = ManualClock()
        let (log, file) = try open(clock)
        file.faults.withLock { $0.failSync = true }
        guard case .unavailable = Self.append(log, clock, id: Self.id(1)) else {
            Issue.record("an unsynced write was acknowledged")
            return
        }
        // /healthz reports it until a write succeeds again.
        #expect(log.problem != nil)
        // A redelivery of the failed event is not mistaken for a duplicate.
        file.faults.withLock { $0.failSync = false }
        #expect(Self.append(log, clock, id: Self.id(1)) == .stored(seq: 2))
        #expect(log.problem == nil)
        #expect(dir.events().map { $0["seq"] as! Int } == [2])
    }

    @Test func healthzAnswers503WithTheReason() throws {
        let problem = Mutex<String?>("event log unavailable: fdatasync: EIO")
        let handler = AdminHandler(health: { problem.withLock { $0 } }, metrics: { Array("x 1\n".utf8) })
        func get(_ path: String, method: String = "GET") -> HTTPResponse {
            let head = HTTPRequestHead(method: HTTPMethod(method), target: path, versionMinor: 1, headers: HTTPHeaders(), framing: .none)
            let answer = Mutex<HTTPResponse?>(nil)
            handler.handle(HTTPRequest(head: head, body: [])) { r in answer.withLock { $0 = r } }
            return answer.withLock { $0! }
        }
        let sick = get("/healthz")
        #expect(sick.status == 503)
        #expect(String(decoding: sick.body, as: UTF8.self).hasPrefix(#"{"ok":false,"reason":"event log unavailable: fdatasync: EIO"}"#))
        problem.withLock { $0 = nil }
        #expect(get("/healthz").status == 200)
        #expect(get("/metrics").body == Array("x 1\n".utf8))
        #expect(get("/metrics", method: "DELETE").status == 405)
        #expect(get("/").status == 404)
    }
}
