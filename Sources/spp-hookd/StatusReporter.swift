// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import Glibc
import Logging
import SPPHookServer
import SPPHookSystemd
import Synchronization

/// Keeps systemd informed: `STATUS=` with live counters when they change, and, when
/// `WATCHDOG_USEC` is set, `WATCHDOG=1` at half the interval, but only after the intake
/// loops and the event log writer answered a probe: a stuck daemon stops pinging and
/// systemd restarts it.
final class StatusReporter: Sendable {
    let daemon: Daemon
    let notifier: SystemdNotifier
    let logger: Logger
    private let wake = Signal()
    private let stopping = Mutex(false)
    private let thread = Mutex<JoinableThread?>(nil)

    init(daemon: Daemon, notifier: SystemdNotifier, logger: Logger) {
        (self.daemon, self.notifier, self.logger) = (daemon, notifier, logger)
    }

    /// Ends the thread, so that STOPPING=1 is the last word (within a few seconds: a
    /// notification it is sending may be held up by a service manager that does not read).
    func stop() {
        stopping.withLock { $0 = true }
        wake.notify()
        _ = thread.withLock({ $0 })?.join(within: 5)
    }

    func start() {
        let watchdog = SystemdNotifier.watchdogInterval()
        let period = watchdog.map { Double($0) / 2_000_000 } ?? 2.0
        if let watchdog {
            logger.info("watchdog enabled", metadata: ["intervalMs": "\(watchdog / 1000)"])
        }
        let started = POSIXThread.spawn(name: "status-reporter") { [self] in
            var lastStatus = ""
            while true {
                wake.wait(seconds: min(period, 2.0))
                if stopping.withLock({ $0 }) { return }
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
        thread.withLock { $0 = started }
    }
}
