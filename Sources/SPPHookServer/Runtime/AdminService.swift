// SPDX-License-Identifier: MIT
import SPPHookCore
import SPPHookPOSIX

/// The admin listener's server: `/healthz` and `/metrics` for monitoring.
enum AdminService {
    /// Small, strict limits: GET requests from monitoring.
    static var settings: HTTPServer.Settings {
        var limits = DaemonConfig.Limits()
        limits.maxBodyBytes = 1024
        limits.maxConnections = 64
        return HTTPServer.Settings(limits)
    }

    static func handler(health: HealthCheck, fanout: Fanout, metrics: DaemonMetrics) -> AdminHandler {
        let (server, log) = (health.server, health.log)
        return AdminHandler(
            health: { health.problem() },
            warnings: { fanout.runners.compactMap { r in r.status.warning.map { "sink \(r.config.name): \($0)" } } },
            metrics: {
                let lastSeq = log.lastSeq
                metrics.setGauges(
                    openConnections: server.openConnections, logBytes: log.directory.totalBytes(), lastSeq: lastSeq,
                    sinkLag: fanout.runners.map { r in (r.config.name, lastSeq &- min(lastSeq, r.status.cursorSeq)) })
                return metrics.exposition()
            })
    }
}
