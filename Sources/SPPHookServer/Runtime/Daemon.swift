// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX
import Synchronization

/// The running daemon, built from a validated config; the CLI and the tests build it the same way.
///
/// Start-up runs in this order, and every step that can fail comes before the first thread
/// starts, so a failure (a taken port, a bad certificate, an unreadable log) has nothing to
/// stop but the sockets already bound, which it closes:
/// 1. secrets and certificates (nothing opened);
/// 2. the listeners (``Listeners``);
/// 3. the event log, opened and recovered (its threads end when it is released);
/// 4. the sinks' cursors (``Fanout``), the seq floor above them, retention;
/// then, none of which can fail: the sink runners, the intake server, the admin server and
/// ``Housekeeping``. ``stop(timeout:)`` stops them in the reverse order of their work:
/// intake first, then the log, then the sinks.
public final class Daemon: Sendable {
    public let log: EventLog
    public let server: HTTPServer
    /// The admin listener (`/healthz`, `/metrics`), when configured.
    public let adminServer: HTTPServer?
    public let metrics: DaemonMetrics
    public let handler: WebhookHandler
    public let fanout: Fanout
    /// True when systemd passed the listeners (then `listen` in the config is not used).
    public let socketActivated: Bool
    let health: HealthCheck
    let status: DaemonStatus
    private let housekeeping: Housekeeping
    let logger: Logger

    public var config: DaemonConfig { status.config.withLock { $0 } }
    public var counters: Counters { handler.counters }

    /// Starts the daemon in the order above; `listenFDs` are systemd's listeners, if any.
    public static func start(
        config: DaemonConfig, listenFDs: [Int32] = [], secrets: SecretResolver, clock: any WallClock = SystemWallClock(),
        logger: Logger
    ) throws(StartError) -> Daemon {
        let endpoints = try resolveEndpoints(config, secrets: secrets, logger: logger)
        let tls = try config.tls.map { settings throws(StartError) in try Self.loadTLS(settings, secrets: secrets) }
        let listeners = try Listeners.bind(config, passed: listenFDs)
        let metrics = DaemonMetrics()
        let (log, fanout): (EventLog, Fanout)
        do {
            (log, fanout) = try openLogAndSinks(config, secrets: secrets, clock: clock, metrics: metrics, logger: logger)
        } catch {
            listeners.close()
            throw error
        }
        // Nothing below can fail: start the threads, the work's last stage first.
        fanout.start()
        let handler = WebhookHandler(endpoints: endpoints, classifier: config.classifier, log: log,
            counters: Counters(metrics: metrics), clock: clock, logger: logger)
        let server = HTTPServer(listenFDs: listeners.intake, handler: handler, settings: HTTPServer.Settings(config.limits, tls: tls),
            loops: config.limits.eventLoops, logger: logger)
        server.start()
        let health = HealthCheck(server: server, log: log, dataDir: config.dataDir)
        let adminServer = listeners.admin.map { fd in
            HTTPServer(listenFDs: [fd], handler: AdminService.handler(health: health, fanout: fanout, metrics: metrics),
                settings: AdminService.settings, loops: 1, logger: logger)
        }
        adminServer?.start()
        let daemon = Daemon(config: config, log: log, server: server, handler: handler, fanout: fanout,
            addresses: listeners.intake.map(Socket.describe), socketActivated: listeners.activated, admin: adminServer, health: health, metrics: metrics, clock: clock, logger: logger)
        daemon.housekeeping.start()
        return daemon
    }

    /// Opens (and repairs) the event log and loads the sinks' cursors: the fallible steps
    /// after binding. Starts no thread that outlives a failure.
    private static func openLogAndSinks(
        _ config: DaemonConfig, secrets: SecretResolver, clock: any WallClock, metrics: DaemonMetrics, logger: Logger
    ) throws(StartError) -> (EventLog, Fanout) {
        let log: EventLog
        do {
            log = try EventLog(directory: config.dataDir, dedupWindowSeconds: config.dedupWindowSeconds, settings: config.log,
                clock: clock, logger: logger)
        } catch {
            throw .eventLog(dataDir: config.dataDir, error)
        }
        let r = log.recovery
        logger.info("event log open", metadata: [
            "path": "\(log.path)", "events": "\(r.lines)", "lastSeq": "\(r.lastSeq)", "dedupEntries": "\(r.dedupEntries)",
            "checkpoint": "\(r.checkpoint)", "scannedBytes": "\(r.scannedBytes)",
        ])
        let fanout: Fanout
        do {
            fanout = try Fanout(sinks: config.sinks, api: config.api, log: log, dataDir: config.dataDir,
                environment: secrets.environment, hidden: config.secretVariableNames, instance: config.instance ?? SinkFactory.hostName(),
                clock: clock, metrics: metrics, logger: logger)
        } catch {
            log.stop()
            throw .sinks(error)
        }
        // A cursor ahead of the log (its history was lost): seqs continue above it.
        if let highest = fanout.runners.compactMap(\.aheadOfLog).max() {
            do {
                try log.continueSeq(after: highest)
            } catch {
                log.stop()
                throw .seqFloor(error)
            }
        }
        log.setRetentionFloor { fanout.oldestCursorOffset }
        log.applyRetention()
        return (log, fanout)
    }

    private init(
        config: DaemonConfig, log: EventLog, server: HTTPServer, handler: WebhookHandler, fanout: Fanout, addresses: [String],
        socketActivated: Bool, admin: HTTPServer?, health: HealthCheck, metrics: DaemonMetrics, clock: any WallClock, logger: Logger
    ) {
        let status = DaemonStatus(config: config, counters: handler.counters, fanout: fanout, log: log, startedAt: clock.now(),
            addresses: addresses, adminAddress: admin.map { Socket.describe($0.listenFDs[0]) }, clock: clock)
        (self.status, self.metrics, self.log, self.server, self.handler) = (status, metrics, log, server, handler)
        (self.adminServer, self.fanout, self.socketActivated, self.health, self.logger) = (admin, fanout, socketActivated, health, logger)
        self.housekeeping = Housekeeping(log: log, health: health, statusPath: Self.statusPath(dataDir: config.dataDir),
            checkpointSeconds: config.log.checkpointSeconds, clock: clock, snapshot: status.snapshot)
    }

    /// Stops intake, finishes in-flight requests, waits for the log to sync what it has, then
    /// lets sink deliveries in flight finish and saves cursors, all within about `timeout`.
    public func stop(timeout: Double) {
        // One budget for the whole stop (kept below systemd's TimeoutStopSec): requests in
        // flight first, then deliveries in flight.
        let deadline = monotonicSeconds() + timeout
        housekeeping.stop(timeout: 1.5)
        adminServer?.shutdown(timeout: 0.1)
        server.shutdown(timeout: timeout * 0.6)
        log.stop()
        fanout.stop(timeout: max(0.5, deadline - monotonicSeconds()))
    }

    /// True when the intake loops and the event log writer each ran a probe within `timeout`
    /// seconds: the condition for a watchdog ping.
    public func isAlive(timeout: Double) -> Bool { health.isAlive(timeout: timeout) }

    /// What `status` shows: counts per endpoint, state per sink.
    public func snapshot() -> StatusSnapshot { status.snapshot() }

    /// One line for `STATUS=`.
    public var statusLine: String { status.line }

    public var startedAt: Timestamp { status.startedAt }
    public var addresses: [String] { status.addresses }
    public var adminAddress: String? { status.adminAddress }

    public static func statusPath(dataDir: String) -> String { dataDir + "/status.json" }
}
