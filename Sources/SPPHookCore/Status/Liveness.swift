// SPDX-License-Identifier: MIT

/// Whether the threads that serve requests (the intake loops, the log writer) still run
/// work handed to them, judged without waiting: a probe is started, and the daemon counts
/// as stuck once one has been outstanding for longer than the timeout. `/healthz` reads it
/// on the admin loop, which must never block on the threads it reports on.
public struct Liveness: Equatable, Sendable {
    /// When the outstanding probe started (monotonic seconds), or nil.
    public private(set) var outstandingSince: Double?

    public init() {}

    /// Starts a probe unless one is outstanding; true when the caller sends one now.
    public mutating func start(now: Double) -> Bool {
        guard outstandingSince == nil else { return false }
        outstandingSince = now
        return true
    }

    /// Every probed thread ran the probe.
    public mutating func answered() {
        outstandingSince = nil
    }

    /// A probe has waited longer than `timeout` seconds for an answer.
    public func isStuck(now: Double, timeout: Double) -> Bool {
        outstandingSince.map { now - $0 > timeout } ?? false
    }
}
