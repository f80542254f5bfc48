// SPDX-License-Identifier: MIT
public import Synchronization

/// Intake counters since start (for `STATUS=` and, later, metrics).
public final class Counters: Sendable {
    /// Requests that reached an endpoint.
    public let received = Atomic<Int>(0)
    public let stored = Atomic<Int>(0)
    public let duplicates = Atomic<Int>(0)
    /// Bad token, malformed body or envelope.
    public let rejected = Atomic<Int>(0)
    /// Not stored because the event log failed (answered 503).
    public let failed = Atomic<Int>(0)

    public init() {}

    /// One line for `STATUS=`: "received 12, stored 10, duplicates 1, rejected 1, failed 0".
    public var summary: String {
        "received \(received.load(ordering: .relaxed)), stored \(stored.load(ordering: .relaxed)), "
            + "duplicates \(duplicates.load(ordering: .relaxed)), rejected \(rejected.load(ordering: .relaxed)), "
            + "failed \(failed.load(ordering: .relaxed))"
    }
}
