// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("A line with NUL bytes: the damaged part and what follows it")
struct LineDamageTests {
    /// NUL is written as @ in the table (a NUL in a test's arguments cuts its report short).
    @Test(arguments: [
        ("", 0, ""),
        (#"{"seq":1}"#, 0, #"{"seq":1}"#),
        ("@", 1, ""),
        ("@@@@", 4, ""),
        (#"@@@{"seq":3}"#, 3, #"{"seq":3}"#),
        (#"{"seq":2,"id":"0@@@"#, 19, ""),
        (#"{"se@q":2}@@{"seq":3}"#, 12, #"{"seq":3}"#),
        (#"{"seq":3}@"#, 10, ""),
    ])
    func split(_ line: String, damaged: Int, rest: String) {
        let bytes = Array(line.utf8).map { $0 == UInt8(ascii: "@") ? 0 : $0 }
        // A slice that does not start at index 0, as readers pass them.
        let padded = [UInt8](repeating: 0x0A, count: 5) + bytes
        let (count, readable) = LineDamage.split(padded[5...])
        #expect(count == damaged)
        #expect(String(decoding: readable, as: UTF8.self) == rest)
        #expect(readable.endIndex == padded.endIndex)
    }

    @Test func describesWhereItIs() {
        let d = LineDamage(file: "/var/lib/spp-hookd/events.jsonl", offset: 789, bytes: 38_000)
        #expect("\(d)" == "/var/lib/spp-hookd/events.jsonl: byte 789: a line with NUL bytes (38000 damaged bytes: "
            + "a failed write-back or a power cut); skipped")
    }
}
