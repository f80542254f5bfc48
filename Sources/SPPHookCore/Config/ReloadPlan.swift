// SPDX-License-Identifier: MIT

/// What SIGHUP may change in a running daemon, decided from the running and the new
/// configuration alone. Endpoints, tokens, classification, limits (for connections accepted
/// from then on), certificates and the sinks' `where`/`transform` reload; anything that
/// shapes the listeners, the data directory or the sinks themselves needs a restart.
public struct ReloadPlan: Equatable, Sendable {
    /// A sink's `where` or `transform` changed: the sinks get their new programs.
    public var programsChanged: Bool

    /// Why a configuration cannot be applied without a restart: the key, then the reason.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "\(key): \(reason)" }
    }

    /// The plan for going from `running` to `new`, or the first setting that needs a
    /// restart. `socketActivated`: systemd owns the listeners, so `listen` is not used.
    public static func check(running: DaemonConfig, new: DaemonConfig, socketActivated: Bool) -> Result<ReloadPlan, Refusal> {
        func refuse(_ key: String, _ reason: String) -> Result<ReloadPlan, Refusal> { .failure(Refusal(key: key, reason: reason)) }
        if new.listen != running.listen && !socketActivated {
            return refuse("listen", "changing it needs a restart (running: \(running.listen))")
        }
        if new.dataDir != running.dataDir {
            return refuse("dataDir", "changing it needs a restart (running: \(running.dataDir))")
        }
        let withoutPrograms = { (sinks: [SinkConfig]) in sinks.map { s in var s = s; s.programs = SinkPrograms(); return s } }
        if withoutPrograms(new.sinks) != withoutPrograms(running.sinks) || new.api != running.api {
            return refuse("sinks", "changing them (or api) needs a restart; their where and transform can be reloaded")
        }
        if new.limits.eventLoops != running.limits.eventLoops {
            return refuse("limits.eventLoops", "changing it needs a restart")
        }
        if new.log != running.log || new.admin != running.admin {
            return refuse("log, admin", "changing them needs a restart")
        }
        if new.dedupWindowSeconds != running.dedupWindowSeconds {
            return refuse("dedupWindowSeconds", "changing it needs a restart (running: \(running.dedupWindowSeconds))")
        }
        if (new.tls == nil) != (running.tls == nil) {
            return refuse("tls", "turning HTTPS on or off needs a restart")
        }
        return .success(ReloadPlan(programsChanged: new.sinks != running.sinks))
    }
}
