// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

/// Where a sink starts at start-up. The log here: seqs up to 100, durable end 9000, the
/// oldest event still kept at offset 4000 (older segments were deleted by retention).
@Suite("Cursor start")
struct CursorStartTests {
    @Test(arguments: [
        ("a consistent cursor", (seq: UInt64(40), offset: Int64(5000)), true, UInt64(40), Int64(5000), CursorStart.Reason.saved),
        ("a cursor at the end", (seq: 100, offset: 9000), true, 100, 9000, .saved),
        ("a new sink starts at the end", nil, false, 100, 9000, .new),
        ("a known sink that lost its cursor", nil, true, 0, 4000, .lost),
        ("a cursor past the last seq", (seq: 150, offset: 8000), true, 0, 4000, .aheadOfLog(seq: 150, offset: 8000)),
        ("a cursor past the durable end", (seq: 90, offset: 9500), true, 0, 4000, .aheadOfLog(seq: 90, offset: 9500)),
    ] as [(String, (seq: UInt64, offset: Int64)?, Bool, UInt64, Int64, CursorStart.Reason)])
    func whereASinkStarts(_ name: String, saved: (seq: UInt64, offset: Int64)?, known: Bool, seq: UInt64, offset: Int64, reason: CursorStart.Reason) {
        let start = CursorStart.decide(saved: saved, known: known, lastSeq: 100, durableEnd: 9000, oldestOffset: 4000)
        #expect(start == CursorStart(seq: seq, offset: offset, reason: reason), "\(name)")
        let problem = start.problem(lastSeq: 100, durableEnd: 9000)
        switch reason {
        case .saved, .new: #expect(problem == nil, "\(name)")
        case .lost: #expect(problem?.message.contains("missing") == true, "\(name)")
        case .aheadOfLog(let s, _):
            #expect(start.aheadOfLog == s)
            #expect(problem?.detail.contains("new events continue after seq \(max(s, 100))") == true, "\(name): \(problem?.detail ?? "")")
        }
    }
}
