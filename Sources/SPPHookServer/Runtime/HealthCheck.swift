// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// Whether the daemon can take events: what `/healthz` answers and when the watchdog pings.
final class HealthCheck: Sendable {
    let server: HTTPServer
    let log: EventLog
    let dataDir: String
    /// The probe `/healthz` and housekeeping keep going (``Liveness``).
    private let liveness = Mutex(Liveness())
    static let timeout = 2.0

    init(server: HTTPServer, log: EventLog, dataDir: String) {
        (self.server, self.log, self.dataDir) = (server, log, dataDir)
    }

    /// Why the daemon is unhealthy, or nil. Never waits: a probe that has not come back
    /// within ``timeout`` seconds makes it unhealthy.
    func problem() -> String? {
        if let problem = log.problem { return problem }
        if access(dataDir, W_OK) != 0 { return "data directory \(dataDir) is not writable" }
        kick()
        let now = monotonicSeconds()
        if liveness.withLock({ $0.isStuck(now: now, timeout: Self.timeout) }) {
            return "intake loops or the log writer did not answer within \(Int(Self.timeout)) s"
        }
        return nil
    }

    /// Sends a probe through the intake loops and the log writer unless one is outstanding.
    func kick() {
        let now = monotonicSeconds()
        guard liveness.withLock({ $0.start(now: now) }) else { return }
        probe { [self] in liveness.withLock { $0.answered() } }
    }

    /// True when the intake loops and the event log writer each ran a probe within `timeout`
    /// seconds: the condition for a watchdog ping (its own thread waits for it).
    func isAlive(timeout: Double) -> Bool {
        let done = Signal()
        probe { done.notify() }
        return done.wait(seconds: timeout)
    }

    /// Runs `completion` once the intake loops and the log writer all ran the probe.
    private func probe(_ completion: @escaping @Sendable () -> Void) {
        let remaining = Atomic(2)
        let answered: @Sendable () -> Void = {
            if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { completion() }
        }
        server.probe(answered)
        log.probe(answered)
    }
}
