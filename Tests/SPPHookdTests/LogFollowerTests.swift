// SPDX-License-Identifier: MIT
import Foundation
import SPPHookPOSIX
import SPPHookServer
import Testing

/// `tail -n N` reads the log backwards in 1 MiB chunks (``LogFollower/last(_:where:)``): the
/// lines it returns are the last N that match, whole, in order, whatever chunk edges they
/// cross, and a line still being written is left out.
@Suite("The last lines of the log")
struct LogFollowerTests {
    /// Line lengths repeat through `pattern`; `unfinished` leaves a last line without its newline.
    static let logs: [(name: String, lines: Int, pattern: [Int], unfinished: Bool)] = [
        ("short lines, 3 MiB", 30_000, [100], false),
        ("mixed lengths", 2_000, [1, 2_000, 7, 70_000, 333], false),
        ("a line longer than a chunk", 5, [10, 1_500_000, 20], false),
        ("an unfinished last line", 3_000, [900, 1_200], true),
    ]

    @Test(arguments: logs, [1, 5, 100_000])
    func theLastMatchingLinesComeBackWholeAndInOrder(log: (name: String, lines: Int, pattern: [Int], unfinished: Bool), n: Int) throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        var lines: [[UInt8]] = []
        var bytes: [UInt8] = []
        for k in 0..<log.lines {
            let line = Array("\(k % 7 == 0 ? "seven" : "other") \(k) ".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: log.pattern[k % log.pattern.count])
            lines.append(line)
            bytes += line + [0x0A]
        }
        if log.unfinished { bytes += Array("seven, still being written".utf8) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir.file("data/events.jsonl")))

        for (filter, keep) in [("every line", { (_: [UInt8]) in true }), ("every seventh", { (l: [UInt8]) in l.starts(with: Array("seven".utf8)) })] {
            var follower = LogFollower(dataDir: dir.file("data"))
            let got = follower.last(n, where: keep)
            let expected = Array(lines.filter(keep).suffix(n))
            #expect(got.count == expected.count, "\(log.name), \(filter)")
            let differs = zip(got, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset  // not the lines: a MiB each
            #expect(differs == nil, "\(log.name), \(filter): line \(differs ?? -1) of the answer differs")
        }
    }
}
