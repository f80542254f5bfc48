// SPDX-License-Identifier: MIT
import Glibc
import Logging
import SPPHookServer
import SPPHookSystemd

/// Keeps systemd informed: `STATUS=` with live counters when they change, and, when
/// `WATCHDOG_USEC` is set, `WATCHDOG=1` at half the interval, but only after the intake
/// loops and the event log writer answered a probe: a stuck daemon stops pinging and
/// systemd restarts it.
struct StatusReporter: Sendable {
    let daemon: Daemon
    let notifier: SystemdNotifier
    let logger: Logger

    func start() {
        let watchdog = SystemdNotifier.watchdogInterval()
        let period = watchdog.map { Double($0) / 2_000_000 } ?? 2.0
        if let watchdog {
            logger.info("watchdog enabled", metadata: ["intervalMs": "\(watchdog / 1000)"])
        }
        POSIXThread.detach(name: "status-reporter") { [self] in
            var lastStatus = ""
            while true {
                usleep(useconds_t(min(period, 2.0) * 1_000_000))
                var message: [String] = []
                if watchdog != nil {
                    if daemon.isAlive(timeout: period) {
                        message.append("WATCHDOG=1")
                    } else {
                        logger.error("liveness probe timed out; not pinging the watchdog")
                    }
                }
                let status = daemon.statusLine
                if status != lastStatus {
                    message.append("STATUS=\(status)")
                    lastStatus = status
                }
                if !message.isEmpty { notifier.notify(message.joined(separator: "\n")) }
            }
        }
    }
}
