// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

/// `/healthz` judges the threads that serve requests by a probe it never waits for.
@Suite("Liveness")
struct LivenessTests {
    @Test(arguments: [
        ("no probe yet", [], 10.0, false),
        ("a probe out for a second", [("start", 9.0)], 10.0, false),
        ("a probe out for exactly the timeout", [("start", 8.0)], 10.0, false),
        ("a probe out for longer than the timeout", [("start", 7.5)], 10.0, true),
        ("answered", [("start", 1.0), ("answer", 1.5)], 10.0, false),
        ("a second start while one is out keeps the first", [("start", 1.0), ("start", 9.5)], 10.0, true),
        ("a new probe after an answer", [("start", 1.0), ("answer", 1.2), ("start", 9.5)], 10.0, false),
    ] as [(String, [(String, Double)], Double, Bool)])
    func stuck(_ name: String, steps: [(String, Double)], now: Double, expected: Bool) {
        var l = Liveness()
        for (step, at) in steps {
            if step == "start" { _ = l.start(now: at) } else { l.answered() }
        }
        #expect(l.isStuck(now: now, timeout: 2) == expected, "\(name)")
    }

    @Test func onlyOneProbeIsOutAtATime() {
        var l = Liveness()
        let first = l.start(now: 1), second = l.start(now: 2)
        l.answered()
        let third = l.start(now: 3)
        #expect(first && !second && third)
    }
}
