// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX
public import Synchronization

/// Intake counters since start: totals (for `STATUS=`), per endpoint (for `status`), and
/// the Prometheus metrics, all updated through ``record(_:endpoint:)``.
public final class Counters: Sendable {
    public enum Outcome: Sendable {
        case received
        case rejected(reason: String)
        /// Authenticated and valid, about to be stored.
        case accepted(category: EventCategory, event: String)
        case stored(at: Timestamp)
        case duplicate
        case failed
    }

    public let received = Atomic<Int>(0)
    public let stored = Atomic<Int>(0)
    public let duplicates = Atomic<Int>(0)
    public let rejected = Atomic<Int>(0)
    public let failed = Atomic<Int>(0)
    public let metrics: DaemonMetrics
    private let endpoints = Mutex<[String: StatusSnapshot.Endpoint]>([:])

    public init(metrics: DaemonMetrics = DaemonMetrics()) {
        self.metrics = metrics
    }

    public func record(_ outcome: Outcome, endpoint: String) {
        switch outcome {
        case .received:
            received.add(1, ordering: .relaxed)
            endpoints.withLock { $0[endpoint, default: StatusSnapshot.Endpoint(name: endpoint)].received += 1 }
        case .rejected(let reason):
            rejected.add(1, ordering: .relaxed)
            endpoints.withLock { $0[endpoint, default: StatusSnapshot.Endpoint(name: endpoint)].rejected += 1 }
            metrics.rejected(endpoint: endpoint, reason: reason)
        case .accepted(let category, let event):
            metrics.received(endpoint: endpoint, category: category, event: event)
        case .stored(let at):
            stored.add(1, ordering: .relaxed)
            endpoints.withLock { e in
                var x = e[endpoint, default: StatusSnapshot.Endpoint(name: endpoint)]
                (x.stored, x.lastStoredAt) = (x.stored + 1, at)
                e[endpoint] = x
            }
            metrics.stored(endpoint: endpoint)
        case .duplicate:
            duplicates.add(1, ordering: .relaxed)
            endpoints.withLock { $0[endpoint, default: StatusSnapshot.Endpoint(name: endpoint)].duplicates += 1 }
            metrics.duplicate(endpoint: endpoint)
        case .failed:
            failed.add(1, ordering: .relaxed)
            endpoints.withLock { $0[endpoint, default: StatusSnapshot.Endpoint(name: endpoint)].failed += 1 }
            metrics.unavailable(endpoint: endpoint)
        }
    }

    public var perEndpoint: [String: StatusSnapshot.Endpoint] { endpoints.withLock { $0 } }

    /// One line for `STATUS=`: "received 12, stored 10, duplicates 1, rejected 1, failed 0".
    public var summary: String {
        "received \(received.load(ordering: .relaxed)), stored \(stored.load(ordering: .relaxed)), "
            + "duplicates \(duplicates.load(ordering: .relaxed)), rejected \(rejected.load(ordering: .relaxed)), "
            + "failed \(failed.load(ordering: .relaxed))"
    }
}
