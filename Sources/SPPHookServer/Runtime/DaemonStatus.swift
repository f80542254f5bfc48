// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// What the daemon reports about itself: `status.json`, `status`, `STATUS=`; and the
/// running configuration (a reload replaces it).
final class DaemonStatus: Sendable {
    let config: Mutex<DaemonConfig>
    let counters: Counters
    let fanout: Fanout
    let log: EventLog
    let startedAt: Timestamp
    let addresses: [String]
    let adminAddress: String?
    let clock: any WallClock

    init(
        config: DaemonConfig, counters: Counters, fanout: Fanout, log: EventLog, startedAt: Timestamp, addresses: [String],
        adminAddress: String?, clock: any WallClock
    ) {
        self.config = Mutex(config)
        (self.counters, self.fanout, self.log, self.startedAt) = (counters, fanout, log, startedAt)
        (self.addresses, self.adminAddress, self.clock) = (addresses, adminAddress, clock)
    }

    /// Counts per endpoint, state per sink.
    func snapshot() -> StatusSnapshot {
        let perEndpoint = counters.perEndpoint
        let endpoints = config.withLock { $0.endpoints }.map { perEndpoint[$0.name] ?? StatusSnapshot.Endpoint(name: $0.name) }
        let sinks = fanout.runners.map(\.status)
        return StatusSnapshot(pid: getpid(), startedAt: startedAt, updatedAt: clock.now(), listen: addresses, admin: adminAddress,
            lastSeq: log.lastSeq, endpoints: endpoints, sinks: sinks)
    }

    /// One line for `STATUS=`.
    var line: String {
        guard !fanout.runners.isEmpty else { return counters.summary }
        let statuses = fanout.runners.map(\.status)
        let delivered = statuses.map(\.delivered).reduce(0, +)
        return counters.summary + ", delivered \(delivered), failing sinks \(statuses.filter(\.failing).count)"
    }
}
