// SPDX-License-Identifier: MIT
import FuzzChecks
import SPPHookCore
import SPPHookTesting
import Testing

/// Runs llhttp's request cases through the parser, whole and byte by byte.
///
/// A case passes when the parser, acting as the server would (closing after a request
/// that does not keep the connection, or that asks to upgrade), yields `complete` requests
/// and then: no error (`complete`), an error or a close (`error`), or a request that asks
/// for an upgrade (`upgrade`). Deliberate differences from llhttp are listed in
/// `knownDifferences` with the reason; anything else failing fails the test.
@Suite("llhttp conformance corpus (parser)")
struct ConformanceTests {
    /// Cases where we answer differently from llhttp on purpose.
    static let knownDifferences: [String: String] = [
        "sample.md:323": "HTTP/0.9 request line without version: refused",
    ]

    static func passes(_ c: ConformanceCase, _ outcome: ParseOutcome) -> Bool {
        let n = outcome.requests.count
        let closedAfterLast = outcome.requests.last.map { !$0.head.keepAlive || $0.head.upgradeRequested } ?? false
        switch c.expect {
        case .complete:
            return outcome.error == nil && n == c.complete
        case .error:
            return n == c.complete && (outcome.error != nil || closedAfterLast)
                || (n > 0 && n <= c.complete && closedAfterLast)
        case .upgrade:
            return outcome.error == nil && n == c.complete && closedAfterLast
        }
    }

    @Test func corpusWholeAndByteAtATime() throws {
        let cases = try ConformanceCase.load()
        #expect(cases.count == 119)
        var passed = 0
        var unexpected: [String] = []
        for c in cases {
            let whole = ParserHarness.whole(c.raw)
            let dripped = ParserHarness.byteAtATime(c.raw)
            #expect(whole == dripped, "\(c): whole and byte-at-a-time disagree: \(whole) vs \(dripped)")
            if Self.passes(c, whole) {
                passed += 1
            } else if Self.knownDifferences[c.id] == nil {
                unexpected.append("\(c) expected \(c.expect) (\(c.complete)), got \(whole)")
            }
        }
        #expect(unexpected.isEmpty, "\(unexpected.joined(separator: "\n"))")
        #expect(passed >= 119 - Self.knownDifferences.count)
        #expect(passed >= 117, "at least as many as Node 20 (117)")
        print("llhttp corpus (parser): \(passed)/\(cases.count) pass")
    }
}
