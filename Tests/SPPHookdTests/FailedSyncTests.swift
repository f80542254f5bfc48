// SPDX-License-Identifier: MIT
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Synchronization
import Testing

/// A failed fsync never leaves doubtful bytes under later writes (``DurableAppend``), and
/// every reader passes over a line with NUL bytes, saying where it is (``LineDamage``).
/// The power-cut tests check the same against a filesystem that drops what a failed sync
/// would have written.
extension EventLogTests {
    /// The exact sequence: a write that works, an fdatasync that fails, the next batch.
    @Test func aBatchWhoseSyncFailedIsCutBackAndWrittenAgainFromItsCopy() throws {
        let clock = ManualClock()
        let (log, file) = try open(clock)
        #expect(Self.append(log, clock, id: Self.id(1)) == .stored(seq: 1))
        let before = file.syncs.withLock { $0 }
        file.faults.withLock { $0.nextSyncsFail = [true] }
        #expect(Self.append(log, clock, id: Self.id(2)) == .stored(seq: 2))
        // The failed sync, the sync of the cut, the sync of the batch written again.
        #expect(file.syncs.withLock { $0 } - before == 3)
        #expect(dir.read("data/events.jsonl").split(separator: "\n").count == 2)
        #expect(dir.events().map { $0["seq"] as! Int } == [1, 2])
        #expect(Self.append(log, clock, id: Self.id(3)) == .stored(seq: 3))
        #expect(log.problem == nil)
    }

    /// A batch whose sync failed and that could not be cut back: nothing is appended behind
    /// it until the cut works.
    @Test func aBatchThatCannotBeCutBackHoldsLaterBatchesUntilItIs() throws {
        let clock = ManualClock()
        let (log, file) = try open(clock)
        #expect(Self.append(log, clock, id: Self.id(1)) == .stored(seq: 1))
        file.faults.withLock { $0.nextSyncsFail = [true]; $0.failTruncate = true }
        guard case .unavailable = Self.append(log, clock, id: Self.id(2)) else {
            Issue.record("a batch whose sync failed was acknowledged")
            return
        }
        guard case .unavailable = Self.append(log, clock, id: Self.id(3)) else {
            Issue.record("appended behind bytes whose sync failed")
            return
        }
        #expect(log.problem?.contains("needs repair") == true)
        file.faults.withLock { $0.failTruncate = false }
        #expect(Self.append(log, clock, id: Self.id(4)) == .stored(seq: 4))
        #expect(dir.events().map { $0["seq"] as! Int } == [1, 4])
        #expect(!dir.read("data/events.jsonl").contains(Self.id(2)))
    }

    /// A line with NUL bytes is not a complete line: start-up reports it and goes on (it
    /// used to refuse to start), deletes nothing, and a record after the hole is read.
    /// The damaged bytes of each case (NUL written as @: a NUL in a test's name cuts the report short).
    static let holes = [
        "zeros inside a record": #"{"seq":3,"id":"0000@@@@}"# + "\n",
        "a line of zeros": "@@@@@@@@\n",
        "a record cut by zeros": #"{"seq":3,"id":"00@@@@"#,  // then seq 3 whole, as the old file sink's retry wrote it
        "38,000 zeros": String(repeating: "@", count: 38_000),
    ]

    @Test(arguments: [
        ("zeros inside a record", false), ("a line of zeros", false), ("a record cut by zeros", true), ("38,000 zeros", true),
    ])
    func aLineWithNULBytesIsReportedAndPassedOver(hole: String, salvaged: Bool) throws {
        let damage = try #require(Self.holes[hole]).replacingOccurrences(of: "@", with: "\u{0}")
        let clock = ManualClock()
        var expected = [1, 2]
        var after = ""
        if salvaged {
            // What the old file sink's retry did: a whole record right after the hole. Seq 3
            // is written through the log, then moved behind the hole.
            try twoEventsThen("", clock)
            do {
                let source = try open(clock).0
                _ = Self.append(source, clock, id: Self.id(99))
                source.drain()
            }
            var text = dir.read("data/events.jsonl")
            text.removeLast()
            let cut = try #require(text.lastIndex(of: "\n"))
            after = String(text[text.index(after: cut)...]) + "\n"
            try String(text[...cut]).write(toFile: dir.file("data/events.jsonl"), atomically: false, encoding: .utf8)
            expected.append(3)
        }
        let holeAt = try twoEventsThen(damage + after, clock, events: salvaged ? 0 : 2)
        let before = dir.read("data/events.jsonl")
        let (log, _) = try open(clock)
        #expect(log.recovery.damagedLines == 1)
        #expect(log.recovery.lastSeq == UInt64(expected.count))
        #expect(dir.read("data/events.jsonl") == before, "start-up deleted nothing")
        let next = UInt64(expected.count + 1)
        #expect(Self.append(log, clock, id: Self.id(7)) == .stored(seq: next))
        expected.append(Int(next))
        if salvaged {
            #expect(Self.append(log, clock, id: Self.id(99)) == .duplicate(seq: 3, category: .orders))
        }
        // Sinks and replay read past it, and say where it is.
        let reported = Mutex<[LineDamage]>([])
        let events = try Replay.select(dataDir: dir.file("data"), config: LogSearchTests.sink, selection: .init(),
            damaged: { d in reported.withLock { $0.append(d) } })
        #expect(events.map { Int($0.seq) } == expected)
        #expect(reported.withLock { $0 }.map(\.offset) == [Int64(holeAt)])
        #expect(reported.withLock { $0 }.first?.file == dir.file("data/events.jsonl"))
        // So does `tail`, and it prints no NUL byte.
        let (status, output) = try runProgram(DaemonProcess.binary, ["tail", "--json", "-n", "10", "--data-dir", dir.file("data")])
        #expect(status == 0, "\(output)")
        #expect(output.contains("events.jsonl: byte \(holeAt): a line with NUL bytes"), "\(output)")
        #expect(!output.contains("\u{0}"))
        #expect(output.split(separator: "\n").filter { $0.hasPrefix("{") }.count == expected.count, "\(output)")
    }

    /// Dead letters with a hole: `list` passes over the damage and names it; a letter written
    /// after the hole is still listed.
    @Test func deadLettersWithAHoleAreListedWithoutIt() throws {
        let letters = DeadLetters(dataDir: dir.file("data"), sink: "hook")
        try letters.appendLocked(Array("{\"seq\":1}\n".utf8) + [UInt8](repeating: 0, count: 100) + Array("{\"seq\":3}\n{\"seq\":4}\n".utf8))
        let (lines, damaged) = letters.list()
        #expect(lines.map { String(decoding: $0, as: UTF8.self) } == [#"{"seq":1}"#, #"{"seq":3}"#, #"{"seq":4}"#])
        #expect(damaged == [LineDamage(file: letters.path, offset: 10, bytes: 100)])
    }
}

/// ``DurableAppend`` on its own: what a file holds after each kind of failure.
@Suite("Appends never build on bytes whose sync failed")
struct DurableAppendTests {
    let dir = TemporaryDirectory()

    /// Each sync in order (true: it fails): the batch's, the cut's, the batch's again.
    @Test(arguments: [
        (syncs: [Bool](), outcome: "written"), (syncs: [true], outcome: "written"),
        (syncs: [true, false, true], outcome: "cut back"), (syncs: [true, true], outcome: "doubtful"),
    ])
    func aFailedSyncIsCutBackThenWrittenOnceMore(syncs: [Bool], outcome: String) throws {
        let (inner, _) = try POSIXAppendFile.open(dir.file("out.jsonl"))
        try inner.append(Array("old\n".utf8))
        try inner.sync()
        let file = FaultyFile(inner)
        file.faults.withLock { $0.nextSyncsFail = syncs }
        do {
            try DurableAppend.append(Array("new\n".utf8), to: file, synced: 4)
            #expect(outcome == "written")
        } catch .cutBack {
            #expect(outcome == "cut back")
        } catch .doubtful {
            #expect(outcome == "doubtful")
        }
        #expect(dir.read("out.jsonl") == (outcome == "written" ? "old\nnew\n" : "old\n"))
    }

    @Test func aFileThatCannotBeCutBackIsDoubtful() throws {
        let (inner, _) = try POSIXAppendFile.open(dir.file("out.jsonl"))
        let file = FaultyFile(inner)
        file.faults.withLock { $0.nextSyncsFail = [true]; $0.failTruncate = true }
        #expect {
            try DurableAppend.append(Array("new\n".utf8), to: file, synced: 0)
        } throws: { error in
            if case .doubtful = error as? DurableAppend.Failure { true } else { false }
        }
    }

    /// Files that keep no synced length (sink outputs, dead letters): the next append, by
    /// a new descriptor, cuts a doubtful file back before it writes.
    @Test func theNextAppendCutsADoubtfulFileBackFirst() throws {
        let path = dir.file("out.jsonl")
        try DurableAppend.append(Array("one\n".utf8), to: POSIXAppendFile.open(path).0)
        let file = FaultyFile(try POSIXAppendFile.open(path).0)
        file.faults.withLock { $0.nextSyncsFail = [true]; $0.failTruncate = true }
        #expect(throws: IOError.self) { try DurableAppend.append(Array("lost\n".utf8), to: file) }
        #expect(dir.read("out.jsonl") == "one\nlost\n")
        try DurableAppend.append(Array("two\n".utf8), to: POSIXAppendFile.open(path).0)
        #expect(dir.read("out.jsonl") == "one\ntwo\n")
    }
}
