// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Testing

/// `replay --from-seq`/`--since` start where their first event is, in a real log of many
/// segments, and select exactly what reading the whole log would.
@Suite("Where a replay starts in a real log")
struct LogSearchTests {
    static let sink = SinkConfig(name: "all", kind: .file(path: "/dev/null", mode: 0o600))

    @Test func everySeqAndEveryTimeIsFoundAcrossSegments() throws {
        let dir = TemporaryDirectory()
        let clock = ManualClock()
        do {
            let log = try EventLog(directory: dir.file("data"), dedupWindowSeconds: 86400, settings: .init(maxBytes: 6000), clock: clock,
                logger: .quiet)
            for n in 0..<300 {
                if n % 3 == 0 { clock.advance(seconds: 1) }  // several events a second
                _ = EventLogTests.append(log, clock, id: CheckpointTests.id(n))
            }
            log.drain()
        }
        // A line that is not an event (written by hand) does not confuse the search.
        let handle = try #require(FileHandle(forWritingAtPath: dir.file("data/events.jsonl")))
        handle.seekToEndOfFile()
        handle.write(Data("not an event\n".utf8))
        handle.closeFile()
        let data = dir.file("data")
        #expect(LogDirectory(data).rotated().count > 5)
        let all = try Replay.select(dataDir: data, config: Self.sink, selection: .init(), damaged: { _ in })
        #expect(all.map(\.seq) == (1...300).map { UInt64($0) })
        for seq in [0, 1, 2, 3, 77, 150, 299, 300, 301, 1_000_000] as [UInt64] {
            let expected = all.filter { $0.seq >= seq }
            let start = LogSearch.start(dataDir: data, fromSeq: seq, since: nil)
            #expect(start <= (expected.first?.start ?? Int64.max), "seq \(seq): starts after its first event")
            if let first = expected.first, seq > 1 { #expect(start == first.start, "seq \(seq): read from the start of the log") }
            #expect(try Replay.select(dataDir: data, config: Self.sink, selection: .init(fromSeq: seq), damaged: { _ in }).map(\.seq) == expected.map(\.seq))
        }
        let times = Set(all.map(\.head.receivedAt.millisecondsSinceEpoch)).sorted()
        for t in [times[0] - 1000, times[0], times[1], times[times.count / 2], times[times.count - 1], times[times.count - 1] + 1] {
            let since = Timestamp(millisecondsSinceEpoch: t)
            let expected = all.filter { $0.head.receivedAt >= since }
            let start = LogSearch.start(dataDir: data, fromSeq: 0, since: since)
            if let first = expected.first {
                #expect(start == first.start, "since \(t)")
            } else {
                #expect(start > all[all.count - 1].start, "since \(t): after the last event")
            }
            #expect(try Replay.select(dataDir: data, config: Self.sink, selection: .init(since: since), damaged: { _ in }).map(\.seq) == expected.map(\.seq))
        }
    }
}
