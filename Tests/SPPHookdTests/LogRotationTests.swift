// SPDX-License-Identifier: MIT
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Synchronization
import Testing

@Suite("Event log rotation and retention")
struct LogRotationTests {
    let dir = TemporaryDirectory()
    let logger = Logger.quiet

    func open(_ clock: ManualClock, maxBytes: Int64? = 4096, keepFiles: Int? = nil) throws -> EventLog {
        try EventLog(directory: dir.file("data"), dedupWindowSeconds: 86400,
            settings: DaemonConfig.LogSettings(maxBytes: maxBytes, keepFiles: keepFiles), clock: clock, logger: logger)
    }

    var segments: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.file("data"))) ?? []).filter { $0.hasPrefix("events-") }.sorted()
    }

    static let sink = SinkConfig(name: "all", kind: .file(path: "/dev/null", mode: 0o600))

    @Test func segmentsFormOneLogicalLog() throws {
        let clock = ManualClock()
        let log = try open(clock)
        for n in 1...150 { #expect(EventLogTests.append(log, clock, id: EventLogTests.id(n)) == .stored(seq: UInt64(n))) }
        #expect(segments.count >= 3, "\(segments)")
        // Segment names are the logical offset of their first byte; they tile the log.
        var expectedBase: Int64 = 0
        for name in segments {
            #expect(LogDirectory.segmentName(base: expectedBase) == name)
            expectedBase += Int64(dir.read("data/\(name)").utf8.count)
        }
        #expect(log.activeBase == expectedBase)
        #expect(log.durableEnd == expectedBase + Int64(dir.read("data/events.jsonl").utf8.count))
        // A reader from position 0 sees every event once, with contiguous logical offsets.
        let events = try Replay.select(dataDir: dir.file("data"), config: Self.sink, selection: .init(), damaged: { _ in })
        #expect(events.map(\.seq) == Array(1...150))
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.end == $1.start })
        #expect(events.first?.start == 0 && events.last?.end == log.durableEnd)
        #expect(dir.events().map { $0["seq"] as! Int } == Array(1...150))
    }

    @Test func restartFindsTheLastSeqAndDuplicatesInRotatedSegments() throws {
        let clock = ManualClock()
        do {
            let log = try open(clock)
            var n = 0
            // Stop right after a rotation, so the active segment is empty.
            repeat {
                n += 1
                _ = EventLogTests.append(log, clock, id: EventLogTests.id(n))
            } while dir.read("data/events.jsonl").isEmpty == false || n < 10
            log.drain()
        }
        let lastSeq = UInt64(dir.events().count)
        let log = try open(clock)
        #expect(log.recovery.lastSeq == lastSeq)
        #expect(EventLogTests.append(log, clock, id: EventLogTests.id(1)) == .duplicate(seq: 1, category: .orders))
        #expect(EventLogTests.append(log, clock, id: EventLogTests.id(9999)) == .stored(seq: lastSeq + 1))
    }

    /// A crash between the steps of a rotation: the old file already has its segment name,
    /// but `events.base` is stale and/or the new `events.jsonl` does not exist yet.
    @Test(arguments: [(false, false), (true, false), (false, true)])
    func startupAfterACrashMidRotation(keepBaseFile: Bool, keepNewActive: Bool) throws {
        let clock = ManualClock()
        do {
            let log = try open(clock, maxBytes: nil)
            for n in 1...5 { _ = EventLogTests.append(log, clock, id: EventLogTests.id(n)) }
            log.drain()
        }
        let size = Int64(dir.read("data/events.jsonl").utf8.count)
        // The rename step, done by hand.
        try FileManager.default.moveItem(atPath: dir.file("data/events.jsonl"), toPath: dir.file("data/" + LogDirectory.segmentName(base: 0)))
        if keepBaseFile { try "0\n".write(toFile: dir.file("data/events.base"), atomically: true, encoding: .utf8) }
        if keepNewActive { #expect(FileManager.default.createFile(atPath: dir.file("data/events.jsonl"), contents: nil)) }
        let log = try open(clock, maxBytes: nil)
        #expect(log.activeBase == size, "the base comes from the segment, whatever events.base says")
        #expect(log.recovery.lastSeq == 5)
        #expect(EventLogTests.append(log, clock, id: EventLogTests.id(6)) == .stored(seq: 6))
        let events = try Replay.select(dataDir: dir.file("data"), config: Self.sink, selection: .init(), damaged: { _ in })
        #expect(events.map(\.seq) == [1, 2, 3, 4, 5, 6])
        #expect(events[5].start == size)
    }

    @Test func retentionNeverDeletesWhatASinkStillNeeds() throws {
        let clock = ManualClock()
        let log = try open(clock, keepFiles: 1)
        let floor = Mutex<Int64>(0)
        log.setRetentionFloor { floor.withLock { $0 } }
        for n in 1...150 { _ = EventLogTests.append(log, clock, id: EventLogTests.id(n)) }
        let all = segments.count
        #expect(all >= 3)
        log.applyRetention()
        #expect(segments.count == all, "the sink is at 0: every segment is kept")
        floor.withLock { $0 = log.activeBase }
        log.applyRetention()
        #expect(segments.count == 1, "caught up: only keepFiles segments stay")
        // The log still reads from the oldest remaining segment on.
        let events = try Replay.select(dataDir: dir.file("data"), config: Self.sink, selection: .init(), damaged: { _ in })
        #expect(events.last?.seq == 150)
    }
}

@Suite("Retention rules")
struct RetentionRuleTests {
    static func segments(_ sizes: [(size: Int64, ageDays: Int64)], now: Int64) -> [LogDirectory.Segment] {
        var base: Int64 = 0
        return sizes.map { s in
            defer { base += s.size }
            return LogDirectory.Segment(base: base, path: "/x/\(base)", size: s.size, modified: now - s.ageDays * 86400 - 1)
        }
    }

    @Test(arguments: [
        // keepFiles, keepDays, floor, expected deleted bases
        (Optional(2), Optional<Int>.none, Int64.max, [Int64(0), 100]),
        (Optional(0), nil, Int64.max, [0, 100, 200, 300]),
        (Optional(10), nil, Int64.max, []),
        (nil, Optional(5), Int64.max, [0, 100]),  // ages 9, 7, 3, 1 days
        (Optional(3), Optional(5), Int64.max, [0, 100]),
        (Optional(0), nil, 150, [0]),  // a sink at 150 needs the segment 100..<200 and everything after
        (Optional(0), nil, 100, [0]),
        (Optional(0), nil, 0, []),
        (nil, nil, Int64.max, []),
    ])
    func expired(keepFiles: Int?, keepDays: Int?, floor: Int64, expected: [Int64]) {
        let now: Int64 = 1_795_450_870
        let segments = Self.segments([(100, 9), (100, 7), (100, 3), (100, 1)], now: now)
        let retention = DaemonConfig.LogSettings(maxBytes: 100, keepFiles: keepFiles, keepDays: keepDays)
        #expect(LogRetention.expired(segments, retention: retention, floor: floor, now: now).map(\.base) == expected)
    }
}
