// SPDX-License-Identifier: MIT
import Foundation
import Logging
@testable import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Testing

/// Start-up's whole-log scan on a real file with more events in the window than the dedup
/// table keeps.
@Suite("Recovery scan")
struct RecoveryScanTests {
    let dir = TemporaryDirectory()

    /// The table keeps the newest `maxEntries` while the scan fills it, so its index grows to
    /// what those need, not to every event in the log; and the newest are all found, at
    /// their offsets (lines cross the scan's 1 MiB reads; one, with `longLine`, is longer).
    @Test(arguments: [(0, false), (1_000, true)])
    func aScanKeepsOnlyTheNewestEntriesWhileItFills(msApart: Int64, longLine: Bool) throws {
        let total = 20_000
        let keep = 1_000
        let start: Int64 = 1_795_450_870_000
        var bytes: [UInt8] = []
        var ids: [String] = []
        var offsets: [Int64] = []
        for n in 0..<total {
            let id = CheckpointTests.id(n)
            let at = Timestamp(millisecondsSinceEpoch: start + Int64(n) * msApart)
            offsets.append(Int64(bytes.count))
            bytes += EventRecord.head(seq: UInt64(n + 1))
            let padding = longLine && n == total - keep / 2 ? String(repeating: "x", count: 1_500_000) : ""
            bytes += EventRecord.tail(id: id, receivedAt: at, endpoint: "main", category: .orders, event: "order.created",
                created: 1, payload: JSONObject([.init(key: "n", value: .number("\(n)")), .init(key: "pad", value: .string(padding))]))
            ids.append(id)
        }
        let path = dir.file("events.jsonl")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let (file, _) = try POSIXAppendFile.open(path)
        var dedup = DedupIndex(windowSeconds: 86_400, maxEntries: keep)
        let r = try EventLog.recover(file: file, path: path, base: 0, rotated: [], after: nil, dedup: &dedup,
            now: Timestamp(millisecondsSinceEpoch: start + Int64(total) * msApart), logger: .quiet)
        #expect(r.lines == total)
        #expect(r.lastSeq == UInt64(total))
        #expect(r.dedupEntries == keep)
        // Shards sized for a thousand entries, grown by half at a time: well under 4,000 slots;
        // twenty thousand entries held until the end took more than 25,000.
        #expect(dedup.table.slotCount < 4 * keep, "\(dedup.table.slotCount) slots for \(keep) entries")
        let missing = (total - keep..<total).filter { n in
            let key = DedupIndex.Key(id: ids[n])!
            return dedup.lookup(key) { offset in offset == offsets[n] ? .init(seq: UInt64(n + 1), category: .orders) : nil }
                != .stored(.init(seq: UInt64(n + 1), category: .orders))
        }
        #expect(missing.count == 0, "\(missing.count) of the newest \(keep) not found, the first \(missing.first ?? -1)")
    }
}
