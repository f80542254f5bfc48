// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

/// The listener's choices at the connection limit, and what accept errors call for.
@Suite("Connection admission")
struct AdmissionTests {
    @Test(arguments: [
        ("below the limit", 3, 4, [("a", 5)], nil as String?, false),
        ("at the limit, one idle", 4, 4, [("a", 5)], "a", false),
        ("at the limit, the longest idle goes", 4, 4, [("a", 9), ("b", 2), ("c", 7)], "b", false),
        ("at the limit, none idle", 4, 4, [], nil, true),
        ("over the limit after a reload lowered it", 9, 4, [("a", 1)], "a", false),
    ] as [(String, Int, Int, [(String, Int64)], String?, Bool)])
    func atTheLimit(_ name: String, open: Int, limit: Int, idle: [(String, Int64)], evicted: String?, refused: Bool) {
        let decision = Admission.decide(open: open, limit: limit, idle: idle.map { ($0.0, since: $0.1) })
        switch decision {
        case .admit: #expect(evicted == nil && !refused, "\(name)")
        case .evict(let victim): #expect(victim == evicted, "\(name)")
        case .refuse: #expect(refused, "\(name)")
        }
    }

    @Test(arguments: [
        (103, AcceptFailure.skip), (71, .skip), (1, .skip),  // ECONNABORTED, EPROTO, EPERM
        (24, .pause(seconds: 0.1)), (23, .pause(seconds: 0.1)), (105, .pause(seconds: 0.1)), (12, .pause(seconds: 0.1)),
    ] as [(Int32, AcceptFailure)])
    func acceptErrors(errno: Int32, expected: AcceptFailure) {
        #expect(AcceptFailure(errno: errno) == expected)
    }

    @Test func theOverloadedAnswerIsA503WithRetryAfter() {
        let r = HTTPResponse.overloaded
        #expect(r.status == 503)
        #expect(r.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
    }
}
