// SPDX-License-Identifier: MIT
import Foundation
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Testing

/// `dedup.checkpoint` on real files: start-up reads only the log after it, and falls back to
/// reading the whole log when it is missing, torn, corrupt or stale; dedup stays exact either way.
@Suite("Dedup checkpoint")
struct CheckpointTests {
    let dir = TemporaryDirectory()

    func open(_ clock: ManualClock, window: Int = 86400, settings: DaemonConfig.LogSettings = .init()) throws -> EventLog {
        try EventLog(directory: dir.file("data"), dedupWindowSeconds: window, settings: settings, clock: clock, logger: .quiet)
    }

    var checkpoint: String { dir.file("data/dedup.checkpoint") }

    /// Stores ids `0..<checkpointed`, checkpoints, stores `checkpointed..<total`; returns
    /// the position the checkpoint covers.
    @discardableResult
    func fill(
        _ clock: ManualClock, checkpointed: Int, total: Int, settings: DaemonConfig.LogSettings = .init(), keepAt copy: String? = nil
    ) throws -> Int64 {
        let log = try open(clock, settings: settings)
        for n in 0..<checkpointed { #expect(EventLogTests.append(log, clock, id: Self.id(n)) == .stored(seq: UInt64(n + 1))) }
        log.drain()
        log.checkpointNow()
        if let copy { try FileManager.default.copyItem(atPath: checkpoint, toPath: copy) }
        let covered = log.durableEnd
        for n in checkpointed..<total { _ = EventLogTests.append(log, clock, id: Self.id(n)) }
        log.drain()
        if copy != nil { log.checkpointNow() }  // after those rotation queued
        return covered
    }

    /// Ids as intake makes them: hex of a hash, not small numbers.
    static func id(_ n: Int) -> String { WebhookHandler.eventID(endpoint: "main", payloadJSON: Array("\(n)".utf8)) }

    /// Every id stored before is a duplicate with its own seq; a new one continues the seqs.
    func expectExactDedup(_ log: EventLog, _ clock: ManualClock, stored: Range<Int>, sourceLocation: SourceLocation = #_sourceLocation) {
        var wrong = 0
        for n in stored where EventLogTests.append(log, clock, id: Self.id(n)) != .duplicate(seq: UInt64(n + 1), category: .orders) {
            wrong += 1
        }
        #expect(wrong == 0, "\(wrong) of \(stored.count) redeliveries not answered as duplicates of their original",
            sourceLocation: sourceLocation)
        #expect(EventLogTests.append(log, clock, id: Self.id(1_000_000)) == .stored(seq: UInt64(stored.upperBound + 1)),
            sourceLocation: sourceLocation)
    }

    @Test func aRestartReadsOnlyTheLogAfterTheCheckpoint() throws {
        let clock = ManualClock()
        let covered = try fill(clock, checkpointed: 400, total: 450)
        let size = try #require(FileManager.default.attributesOfItem(atPath: dir.file("data/events.jsonl"))[.size] as? Int64)
        let log = try open(clock)
        #expect(log.recovery.checkpoint == "loaded 400 entries covering the log up to \(covered)")
        #expect(log.recovery.scannedBytes == size - covered)
        #expect(log.recovery.dedupEntries == 450)
        #expect(log.recovery.lastSeq == 450)
        expectExactDedup(log, clock, stored: 0..<450)
    }

    /// The window is applied to a checkpoint's entries as to the log's.
    @Test func entriesOlderThanTheWindowAreForgottenAfterARestart() throws {
        let clock = ManualClock()
        try fill(clock, checkpointed: 10, total: 10)
        clock.advance(seconds: 86401)
        let log = try open(clock)
        #expect(log.recovery.checkpoint.hasPrefix("loaded 10 entries"))
        #expect(log.recovery.dedupEntries == 0)
        #expect(EventLogTests.append(log, clock, id: Self.id(3)) == .stored(seq: 11))
    }

    static let damages = ["missing", "only the temporary file", "torn", "corrupt entry", "corrupt header", "log cut short",
        "log edited before it", "window grew", "foreign entry offset", "more entries than a table takes back"]

    @Test(arguments: damages)
    func aBadCheckpointFallsBackToReadingTheWholeLog(_ damage: String) throws {
        let clock = ManualClock()
        try fill(clock, checkpointed: 300, total: 320)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: checkpoint)))
        var stored = 0..<320
        var window = 86400
        switch damage {
        case "missing": try FileManager.default.removeItem(atPath: checkpoint)
        case "only the temporary file": try FileManager.default.moveItem(atPath: checkpoint, toPath: checkpoint + ".tmp")
        case "torn": try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: checkpoint))
        case "corrupt entry", "corrupt header":
            bytes[damage == "corrupt entry" ? 64 + 16 * 150 + 3 : 20] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: checkpoint))
        case "log cut short":  // restored from an older copy: the checkpoint covers more than there is
            let lines = dir.read("data/events.jsonl").split(separator: "\n")
            try (lines.prefix(200).joined(separator: "\n") + "\n").write(toFile: dir.file("data/events.jsonl"), atomically: false, encoding: .utf8)
            stored = 0..<200
        case "log edited before it":  // a line moved aside by hand: offsets shifted
            var lines = dir.read("data/events.jsonl").split(separator: "\n").map(String.init)
            lines[10] = lines[10].replacingOccurrences(of: "order.created", with: "order.created.x")
            try (lines.joined(separator: "\n") + "\n").write(toFile: dir.file("data/events.jsonl"), atomically: false, encoding: .utf8)
        case "window grew":
            window = 2 * 86400
        case "more entries than a table takes back":
            // A header whose count matches the file's size (sparse: zeros), more than a table
            // can number. Refused for that, before any entry is read or checksummed.
            let count = DedupTable(windowSeconds: window).restoreLimit + 1
            bytes.replaceSubrange(48..<56, with: Self.le(UInt64(count)))
            try Data(bytes.prefix(64)).write(to: URL(fileURLWithPath: checkpoint))
            #expect(truncate(checkpoint, off_t(DedupCheckpoint.fileSize(count: count))) == 0)
        default:  // an entry pointing past what the checkpoint covers, with a checksum that matches
            let end = DedupCheckpoint.word(bytes[...], at: 16)
            bytes.removeLast(8)
            bytes.replaceSubrange(72..<80, with: Self.le(end))
            try Self.writeWithChecksum(bytes, to: checkpoint)
        }
        let log = try open(clock, window: window)
        let none = damage == "missing" || damage == "only the temporary file"
        #expect(log.recovery.checkpoint.hasPrefix(none ? "none" : "refused"), "\(log.recovery.checkpoint)")
        if damage == "more entries than a table takes back" {
            #expect(log.recovery.checkpoint.contains("more than a dedup table takes back"), "\(log.recovery.checkpoint)")
        }
        let size = try #require(FileManager.default.attributesOfItem(atPath: dir.file("data/events.jsonl"))[.size] as? Int64)
        #expect(log.recovery.scannedBytes == size, "the whole log is read")
        expectExactDedup(log, clock, stored: stored)
    }

    /// Writes `bytes` (a header and entries) with the checksum that matches them.
    static func writeWithChecksum(_ bytes: [UInt8], to path: String) throws {
        var bytes = bytes
        var sum = DedupCheckpoint.Checksum()
        sum.add(bytes[...])
        DedupCheckpoint.put(sum.final, &bytes)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    static func le(_ w: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        DedupCheckpoint.put(w, &out)
        return out
    }

    /// Rotation writes a checkpoint; the one used may cover a rotated segment, and the
    /// originals of redeliveries are read back from rotated segments.
    @Test func aCheckpointBeforeRotationsIsUsedAcrossThem() throws {
        let clock = ManualClock()
        let settings = DaemonConfig.LogSettings(maxBytes: 8192)
        let first = dir.file("first.checkpoint")
        let covered = try fill(clock, checkpointed: 40, total: 200, settings: settings, keepAt: first)
        do {  // the newest checkpoint, written after the last rotation or at the end
            let log = try open(clock, settings: settings)
            #expect(log.recovery.checkpoint.hasPrefix("loaded 200 entries"), "\(log.recovery.checkpoint)")
            #expect(log.recovery.scannedBytes == 0)
        }
        // The first one, several segments back.
        try FileManager.default.removeItem(atPath: checkpoint)
        try FileManager.default.moveItem(atPath: first, toPath: checkpoint)
        let logs = LogDirectory(dir.file("data"))
        #expect(logs.rotated().count > 3)
        #expect(logs.rotated().contains { $0.base < covered && covered < $0.end })
        let log = try open(clock, settings: settings)
        #expect(log.recovery.checkpoint == "loaded 40 entries covering the log up to \(covered)")
        #expect(log.recovery.scannedBytes == logs.end() - covered)
        #expect(log.recovery.lastSeq == 200)
        expectExactDedup(log, clock, stored: 0..<200)
    }
}
