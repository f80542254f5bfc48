// SPDX-License-Identifier: MIT
import Foundation
import SPPHookPOSIX
@testable import SPPHookServer
import Testing

@Suite("Sink cursors")
struct CursorStoreTests {
    @Test func aTornSlotFallsBackToThePreviousPosition() throws {
        let dir = TemporaryDirectory()
        let store = CursorStore(dataDir: dir.path, sink: "s")
        #expect(store.load() == nil)
        for seq in 1...5 { try store.save(.init(seq: UInt64(seq), offset: Int64(seq * 100))) }
        #expect(CursorStore(dataDir: dir.path, sink: "s").load() == .init(seq: 5, offset: 500))
        // Tear the slot holding seq 5 (the second: creation fills both, then saves alternate 1, 0, 1, …).
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dir.file("cursors/s.json"))))
        #expect(bytes.count == 128)
        bytes[64 + 7] = UInt8(ascii: "9")  // seq 5 → 9: the check no longer matches
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("cursors/s.json")))
        let reopened = CursorStore(dataDir: dir.path, sink: "s")
        #expect(reopened.load() == .init(seq: 4, offset: 400))
        // The next save goes to the damaged slot, keeping the good one.
        try reopened.save(.init(seq: 6, offset: 600))
        #expect(CursorStore(dataDir: dir.path, sink: "s").load() == .init(seq: 6, offset: 600))
        #expect(dir.read("cursors/s.json").contains("\"seq\":4,"))
    }

    /// Loading prefers the slot with the higher seq: moving a cursor back must not leave the
    /// old position in the other slot (it would come back at the next start).
    @Test func aResetMovesTheCursorBackForGood() throws {
        let dir = TemporaryDirectory()
        let store = CursorStore(dataDir: dir.path, sink: "s")
        for seq in 1...3 { try store.save(.init(seq: UInt64(seq), offset: Int64(seq * 100))) }
        try store.sync()
        let reopened = CursorStore(dataDir: dir.path, sink: "s")
        #expect(reopened.load() == .init(seq: 3, offset: 300))
        try reopened.reset(.init(seq: 0, offset: 0))
        #expect(CursorStore(dataDir: dir.path, sink: "s").load() == .init(seq: 0, offset: 0))
        try reopened.save(.init(seq: 1, offset: 100))
        #expect(CursorStore(dataDir: dir.path, sink: "s").load() == .init(seq: 1, offset: 100))
    }

    @Test func aHandWrittenCursorIsAccepted() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("cursors"), withIntermediateDirectories: true)
        try "{\"seq\":42,\"offset\":4200}\n".write(toFile: dir.file("cursors/s.json"), atomically: true, encoding: .utf8)
        let store = CursorStore(dataDir: dir.path, sink: "s")
        #expect(store.load() == .init(seq: 42, offset: 4200))
        try store.save(.init(seq: 43, offset: 4300))
        #expect(CursorStore(dataDir: dir.path, sink: "s").load() == .init(seq: 43, offset: 4300))
    }
}
