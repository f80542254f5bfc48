// SPDX-License-Identifier: MIT
import Glibc
import Synchronization

/// Whether the daemon can take events: what `/healthz` answers and when the watchdog pings.
struct HealthCheck: Sendable {
    let server: HTTPServer
    let log: EventLog
    let dataDir: String

    /// Why the daemon is unhealthy, or nil.
    func problem() -> String? {
        if let problem = log.problem { return problem }
        if access(dataDir, W_OK) != 0 { return "data directory \(dataDir) is not writable" }
        if !isAlive(timeout: 2) { return "intake loops or the log writer did not answer within 2 s" }
        return nil
    }

    /// True when the intake loops and the event log writer each ran a probe within `timeout`
    /// seconds: the condition for a watchdog ping.
    func isAlive(timeout: Double) -> Bool {
        let remaining = Atomic(2)
        let done = Signal()
        let answered: @Sendable () -> Void = {
            if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { done.notify() }
        }
        server.probe(answered)
        log.probe(answered)
        let deadline = monotonicSeconds() + timeout
        while remaining.load(ordering: .acquiring) > 0 {
            let left = deadline - monotonicSeconds()
            if left <= 0 { return false }
            done.wait(seconds: left)
        }
        return true
    }
}
