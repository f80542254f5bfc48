// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("An HTTP answer's meaning for a delivery: one rule for every HTTP sink and the API client")
struct DeliveryOutcomeTests {
    @Test(arguments: [
        (200, nil, DeliveryOutcome.delivered), (201, "5", .delivered), (204, nil, .delivered), (299, nil, .delivered),
        (408, nil, .retry("d", after: nil)), (429, "7", .retry("d", after: 7)), (429, " 2.5 ", .retry("d", after: 2.5)),
        (500, nil, .retry("d", after: nil)), (503, "-3", .retry("d", after: 0)), (599, "Wed, 21 Oct 2015 07:28:00 GMT", .retry("d", after: nil)),
        (300, nil, .permanent("d")), (400, "9", .permanent("d")), (401, nil, .permanent("d")), (404, nil, .permanent("d")),
        (409, nil, .permanent("d")), (422, nil, .permanent("d")), (600, nil, .permanent("d")), (100, nil, .permanent("d")),
    ] as [(Int, String?, DeliveryOutcome)])
    func status(_ status: Int, retryAfter: String?, expected: DeliveryOutcome) {
        #expect(DeliveryOutcome(httpStatus: status, retryAfter: retryAfter, detail: "d") == expected)
    }

    /// The API client's retries follow the one back-off rule: a Retry-After longer than the
    /// back-off is waited out, a shorter one is not enough.
    @Test func retriesWaitTheLongerOfBackOffAndRetryAfter() {
        let policy = RetryPolicy(maxAttempts: 4, initialSeconds: 1, maxSeconds: 32)
        let asked = DeliveryOutcome(httpStatus: 429, retryAfter: "10", detail: "slow down")
        #expect(policy.decide(asked, attempts: 1, now: 0, random: 0.5) == .retry(at: 10, "slow down"))
        let soon = DeliveryOutcome(httpStatus: 503, retryAfter: "0", detail: "busy")
        #expect(policy.decide(soon, attempts: 3, now: 0, random: 1) == .retry(at: 4, "busy"))
        #expect(policy.decide(soon, attempts: 4, now: 0, random: 0) == .deadLetter("busy"))
    }
}
