// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// The daemon's once-a-second chores on a thread of their own: rewrite `status.json` when
/// something changed (and at least once a minute), check the log's health, probe the
/// intake loops and the log writer for `/healthz`, schedule dedup
/// checkpoints every `log.checkpointSeconds`, and apply retention once a minute.
final class Housekeeping: Sendable {
    private let log: EventLog
    private let health: HealthCheck
    private let snapshot: @Sendable () -> StatusSnapshot
    private let statusPath: String
    private let checkpointSeconds: Double
    private let clock: any WallClock
    private let wake = Signal()
    private let stopping = Atomic(false)
    private let thread = Mutex<JoinableThread?>(nil)

    init(log: EventLog, health: HealthCheck, statusPath: String, checkpointSeconds: Int, clock: any WallClock,
        snapshot: @escaping @Sendable () -> StatusSnapshot)
    {
        (self.log, self.health, self.statusPath, self.checkpointSeconds) = (log, health, statusPath, Double(checkpointSeconds))
        (self.clock, self.snapshot) = (clock, snapshot)
    }

    func start() {
        let started = POSIXThread.spawn(name: "housekeeping") { [self] in
            run()
        }
        thread.withLock { $0 = started }
    }

    /// Ends the thread so nothing writes `status.json` after the stop. Returns after
    /// `timeout` without joining it when a chore is stuck (a hung disk).
    func stop(timeout: Double) {
        stopping.store(true, ordering: .releasing)
        wake.notify()
        _ = thread.withLock({ $0 })?.join(within: timeout)
    }

    private func run() {
        var last: StatusSnapshot?
        var lastWrite = -Double.infinity
        var lastRetention = monotonicSeconds(), lastCheckpoint = monotonicSeconds()
        while !stopping.load(ordering: .acquiring) {
            let now = snapshot()
            let changed = last.map { var l = $0; l.updatedAt = now.updatedAt; return l != now } ?? true
            if changed || monotonicSeconds() - lastWrite >= 60, writeStatus(now) {
                (last, lastWrite) = (now, monotonicSeconds())
            }
            log.checkHealth()
            health.kick()  // so /healthz judges a probe at most a second old
            if monotonicSeconds() - lastCheckpoint >= checkpointSeconds {
                log.scheduleCheckpoint()
                lastCheckpoint = monotonicSeconds()
            }
            if monotonicSeconds() - lastRetention >= 60 {
                log.applyRetention()
                lastRetention = monotonicSeconds()
            }
            wake.wait(seconds: 1)
        }
    }

    /// Replaces `status.json` atomically; false when it could not.
    private func writeStatus(_ snapshot: StatusSnapshot) -> Bool {
        var s = snapshot
        s.updatedAt = clock.now()
        let tmp = statusPath + ".tmp"
        return (try? writeFile(tmp, Array(JSONWriter.pretty(s.json).utf8) + [0x0A])) != nil && rename(tmp, statusPath) == 0
    }
}
