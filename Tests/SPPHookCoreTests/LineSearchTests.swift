// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Line search (where a selection starts in the log)")
struct LineSearchTests {
    /// A log of lines with the given keys (nil: a line that is not an event) and lengths.
    struct Log {
        var starts: [Int64] = []
        var keys: [Int64?] = []
        var end: Int64 = 0

        init(keys: [Int64?], length: (Int) -> Int) {
            for (i, k) in keys.enumerated() {
                starts.append(end)
                self.keys.append(k)
                end += Int64(length(i)) + 1
            }
        }

        /// The first event line starting at or after p, as a reader of the bytes would find it.
        func probe(_ p: Int64) -> LineSearch.Line? {
            var (lo, hi) = (0, starts.count)  // the first line starting at or after p
            while lo < hi {
                let mid = (lo + hi) / 2
                if starts[mid] < p { lo = mid + 1 } else { hi = mid }
            }
            guard let i = starts.indices[lo...].first(where: { keys[$0] != nil }), let key = keys[i] else { return nil }
            let next = i + 1 < starts.count ? starts[i + 1] : end
            return .init(start: starts[i], next: next, key: key)
        }

        /// What reading from the start would find: the answer is a line boundary, no event
        /// before it is at or above the target, and the first event from it on is.
        func check(_ found: Int64, _ target: Int64) -> Bool {
            guard found == end || starts.contains(found) else { return false }
            guard starts.indices.filter({ starts[$0] < found }).allSatisfy({ (keys[$0] ?? Int64.min) < target }) else { return false }
            let first = starts.indices.first { starts[$0] >= found && keys[$0] != nil }
            return first.map { keys[$0]! >= target } ?? true
        }
    }

    static let cases: [(String, [Int64?], Int)] = [
        ("empty", [], 10),
        ("one line", [5], 10),
        ("seqs", (1...200).map { Int64($0) }, 37),
        ("equal times", [1, 1, 1, 2, 2, 5, 5, 5, 5, 9], 3),
        ("lines that are not events", [nil, 1, nil, nil, 4, 5, nil, 9], 12),
        ("one very long line among short ones", (1...50).map { Int64($0) }, -1),
    ]

    @Test(arguments: cases)
    func findsWhatReadingFromTheStartFinds(_ name: String, _ keys: [Int64?], _ length: Int) {
        var rng = SplitMix(seed: UInt64(keys.count))
        let log = Log(keys: keys, length: { i in length > 0 ? length + Int(rng.next() % 5) : (i == 25 ? 100_000 : 20) })
        let targets: [Int64] = [Int64.min + 1, 0, 1, 2, 3, 4, 5, 6, 9, 10, 100, 199, 200, 201, Int64.max]
        for target in targets {
            var probes = 0
            let found = LineSearch.firstLine(atLeast: target, start: 0, end: log.end) { probes += 1; return log.probe($0) }
            #expect(log.check(found, target), "\(name): target \(target) found \(found)")
            #expect(probes <= 4 * 64, "\(name): \(probes) probes")
        }
    }

    /// A few dozen probes for a million lines, not a million.
    @Test func probesGrowWithTheLogarithm() {
        let log = Log(keys: (0..<1_000_000).map { Int64($0) }, length: { _ in 1500 })
        var probes = 0
        let found = LineSearch.firstLine(atLeast: 999_990, start: 0, end: log.end) { probes += 1; return log.probe($0) }
        #expect(found == log.starts[999_990])
        #expect(probes < 60)
    }
}
