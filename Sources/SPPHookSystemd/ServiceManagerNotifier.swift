// SPDX-License-Identifier: MIT
internal import CSystemd
import SPPHookPOSIX
import Glibc

/// Tells the service manager about the daemon's state (`sd_notify`). Outside systemd
/// (no `NOTIFY_SOCKET`) every call is a cheap no-op; there is no guessing.
public protocol ServiceManagerNotifier: Sendable {
    /// Sends `state` (newline-separated `KEY=value` assignments). Returns false when no
    /// service manager listens or sending failed.
    @discardableResult
    func notify(_ state: String) -> Bool
}

public struct SystemdNotifier: ServiceManagerNotifier {
    public init() {}

    @discardableResult
    public func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// `MONOTONIC_USEC=` for `RELOADING=1` (systemd 253+ uses it to order reloads).
    public static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1000
    }

    /// The watchdog interval in microseconds when systemd asked for pings (`WATCHDOG_USEC`,
    /// checked against `WATCHDOG_PID`), else nil.
    public static func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        return sd_watchdog_enabled(0, &usec) > 0 && usec > 0 ? usec : nil
    }
}
