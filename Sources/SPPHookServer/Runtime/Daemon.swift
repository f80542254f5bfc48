// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
import Synchronization

/// The running receive path: event log, webhook handler and HTTP server, built from a
/// validated config. The CLI and the tests build it the same way.
public final class Daemon: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private let running: Mutex<DaemonConfig>
    public let log: EventLog
    public let server: HTTPServer
    /// The admin listener (`/healthz`, `/metrics`), when configured.
    public let adminServer: HTTPServer?
    public let adminAddress: String?
    public let metrics: DaemonMetrics
    public let startedAt: Timestamp
    private let clock: any WallClock
    private let stopping = Atomic(false)
    public let handler: WebhookHandler
    public let fanout: Fanout
    /// Where the listeners are (`127.0.0.1:8080`, `unix:/run/spp.sock`); the real port when
    /// `listen` asked for port 0.
    public let addresses: [String]
    /// True when systemd passed the listeners (then `listen` in the config is not used).
    public let socketActivated: Bool
    private let logger: Logger

    public var config: DaemonConfig { running.withLock { $0 } }
    public var counters: Counters { handler.counters }

    /// Resolves secrets, opens (and repairs) the event log, binds (unless systemd passed
    /// `listenFDs`), and starts accepting.
    public static func start(
        config: DaemonConfig, listenFDs: [Int32] = [], secrets: SecretResolver, clock: any WallClock = SystemWallClock(),
        logger: Logger
    ) throws(StartError) -> Daemon {
        let endpoints = try resolveEndpoints(config, secrets: secrets, logger: logger)
        let log: EventLog
        do {
            log = try EventLog(directory: config.dataDir, dedupWindowSeconds: config.dedupWindowSeconds, settings: config.log,
                clock: clock, logger: logger)
        } catch {
            throw StartError(description: "cannot open the event log in \(config.dataDir): \(error)")
        }
        let r = log.recovery
        logger.info("event log open", metadata: [
            "path": "\(log.path)", "events": "\(r.lines)", "lastSeq": "\(r.lastSeq)", "dedupEntries": "\(r.dedupEntries)",
            "checkpoint": "\(r.checkpoint)", "scannedBytes": "\(r.scannedBytes)",
        ])
        let metrics = DaemonMetrics()
        let fanout: Fanout
        do {
            fanout = try Fanout(sinks: config.sinks, api: config.api, log: log, dataDir: config.dataDir,
                environment: secrets.environment, hidden: config.secretVariableNames, instance: config.instance ?? Fanout.hostName(),
                clock: clock, metrics: metrics, logger: logger)
        } catch {
            throw StartError(description: "\(error)")
        }
        // A cursor ahead of the log (its history was lost): seqs continue above it.
        if let highest = fanout.runners.compactMap(\.aheadOfLog).max() {
            do {
                try log.continueSeq(after: highest)
            } catch {
                throw StartError(description: "cannot record the seq floor above sink cursors: \(error)")
            }
        }
        log.setRetentionFloor { fanout.oldestCursorOffset }
        log.applyRetention()
        fanout.start()
        var adminFD: Int32?
        if let admin = config.admin {
            do {
                adminFD = try Socket.listen(on: admin.listen)
            } catch {
                throw StartError(description: "admin.listen: cannot listen on \(admin.listen): \(error)")
            }
        }
        var fds = listenFDs
        if fds.isEmpty {
            do {
                fds = [try Socket.listen(on: config.listen)]
            } catch {
                throw StartError(description: "cannot listen on \(config.listen): \(error)")
            }
        }
        let addresses = fds.map { Socket.describe($0) }
        let handler = WebhookHandler(endpoints: endpoints, classifier: config.classifier, log: log,
            counters: Counters(metrics: metrics), clock: clock, logger: logger)
        let tls = try config.tls.map { settings throws(StartError) in try Self.loadTLS(settings, secrets: secrets) }
        let server = HTTPServer(listenFDs: fds, handler: handler, settings: HTTPServer.Settings(config.limits, tls: tls),
            loops: config.limits.eventLoops, logger: logger)
        server.start()
        let adminServer = adminFD.map { fd in
            HTTPServer(listenFDs: [fd], handler: Self.adminHandler(server: server, log: log, fanout: fanout, metrics: metrics,
                dataDir: config.dataDir), settings: adminSettings, loops: 1, logger: logger)
        }
        let daemon = Daemon(config: config, log: log, server: server, handler: handler, fanout: fanout, addresses: addresses,
            socketActivated: !listenFDs.isEmpty, admin: adminServer, metrics: metrics, clock: clock, logger: logger)
        daemon.adminServer?.start()
        daemon.startHousekeeping()
        return daemon
    }

    private init(
        config: DaemonConfig, log: EventLog, server: HTTPServer, handler: WebhookHandler, fanout: Fanout, addresses: [String],
        socketActivated: Bool, admin: HTTPServer?, metrics: DaemonMetrics, clock: any WallClock, logger: Logger
    ) {
        self.metrics = metrics
        self.clock = clock
        self.startedAt = clock.now()
        self.adminServer = admin
        self.adminAddress = admin.map { Socket.describe($0.listenFDs[0]) }
        self.fanout = fanout
        self.running = Mutex(config)
        self.log = log
        self.server = server
        self.handler = handler
        self.addresses = addresses
        self.socketActivated = socketActivated
        self.logger = logger
    }

    /// Applies a new configuration atomically: endpoints, tokens, classification and limits
    /// (limits for connections accepted from now on). Settings that need a restart
    /// (`listen`, `dataDir`, `dedupWindowSeconds`) must be unchanged; any error leaves the
    /// running configuration untouched.
    public func reload(_ new: DaemonConfig, secrets: SecretResolver) throws(StartError) {
        let old = config
        if new.listen != old.listen && !socketActivated {
            throw StartError(description: "listen: changing it needs a restart (running: \(old.listen))")
        }
        if new.dataDir != old.dataDir {
            throw StartError(description: "dataDir: changing it needs a restart (running: \(old.dataDir))")
        }
        // A sink's `where` and `transform` may change; anything else about sinks needs a restart.
        let withoutPrograms = { (sinks: [SinkConfig]) in sinks.map { s in var s = s; s.programs = SinkPrograms(); return s } }
        if withoutPrograms(new.sinks) != withoutPrograms(old.sinks) || new.api != old.api {
            throw StartError(description: "sinks: changing them (or api) needs a restart; their where and transform can be reloaded")
        }
        if new.limits.eventLoops != old.limits.eventLoops {
            throw StartError(description: "limits.eventLoops: changing it needs a restart")
        }
        if new.log != old.log || new.admin != old.admin {
            throw StartError(description: "log, admin: changing them needs a restart")
        }
        if new.dedupWindowSeconds != old.dedupWindowSeconds {
            throw StartError(description: "dedupWindowSeconds: changing it needs a restart (running: \(old.dedupWindowSeconds))")
        }
        if (new.tls == nil) != (old.tls == nil) {
            throw StartError(description: "tls: turning HTTPS on or off needs a restart")
        }
        let endpoints = try Self.resolveEndpoints(new, secrets: secrets, logger: logger)
        // Certificates are read again even when the paths are unchanged: renewed files apply.
        let tls = try new.tls.map { settings throws(StartError) in try Self.loadTLS(settings, secrets: secrets) }
        if new.sinks != old.sinks {
            do throws(Fanout.SetupError) {
                try fanout.updatePrograms(new.sinks)
            } catch {
                throw StartError(description: error.description)
            }
        }
        handler.update(endpoints: endpoints, classifier: new.classifier)
        server.update(HTTPServer.Settings(new.limits, tls: tls))
        running.withLock { $0 = new }
    }

    /// Small, strict limits for the admin listener: GET requests from monitoring.
    private static var adminSettings: HTTPServer.Settings {
        var limits = DaemonConfig.Limits()
        limits.maxBodyBytes = 1024
        limits.maxConnections = 64
        return HTTPServer.Settings(limits)
    }

    private static func adminHandler(
        server: HTTPServer, log: EventLog, fanout: Fanout, metrics: DaemonMetrics, dataDir: String
    ) -> AdminHandler {
        AdminHandler(
            health: {
                if let problem = log.problem { return problem }
                if access(dataDir, W_OK) != 0 { return "data directory \(dataDir) is not writable" }
                if !isAlive(server: server, log: log, timeout: 2) { return "intake loops or the log writer did not answer within 2 s" }
                return nil
            },
            warnings: { fanout.runners.compactMap { r in r.status.warning.map { "sink \(r.config.name): \($0)" } } },
            metrics: {
                let lastSeq = log.lastSeq
                metrics.setGauges(
                    openConnections: server.openConnections, logBytes: log.directory.totalBytes(), lastSeq: lastSeq,
                    sinkLag: fanout.runners.map { r in (r.config.name, lastSeq &- min(lastSeq, r.status.cursorSeq)) })
                return metrics.exposition()
            })
    }

    /// True when the intake loops and the event log writer each ran a probe within `timeout`
    /// seconds: the condition for a watchdog ping.
    public func isAlive(timeout: Double) -> Bool {
        Self.isAlive(server: server, log: log, timeout: timeout)
    }

    private static func isAlive(server: HTTPServer, log: EventLog, timeout: Double) -> Bool {
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

    /// Stops intake, finishes in-flight requests, waits for the log to sync what it has, then
    /// lets sink deliveries in flight finish and saves cursors, all within about `timeout`.
    public func stop(timeout: Double) {
        // One budget for the whole stop (kept below systemd's TimeoutStopSec): requests in
        // flight first, then deliveries in flight.
        let deadline = monotonicSeconds() + timeout
        stopping.store(true, ordering: .relaxed)
        adminServer?.shutdown(timeout: 0.1)
        server.shutdown(timeout: timeout * 0.6)
        log.drain()
        log.checkpointNow()
        fanout.stop(timeout: max(0.5, deadline - monotonicSeconds()))
    }

    /// What `status` shows: counts per endpoint, state per sink.
    public func snapshot() -> StatusSnapshot {
        let perEndpoint = counters.perEndpoint
        let endpoints = config.endpoints.map { perEndpoint[$0.name] ?? StatusSnapshot.Endpoint(name: $0.name) }
        let sinks = fanout.runners.map(\.status)
        return StatusSnapshot(pid: getpid(), startedAt: startedAt, updatedAt: clock.now(), listen: addresses, admin: adminAddress,
            lastSeq: log.lastSeq, endpoints: endpoints, sinks: sinks)
    }

    public static func statusPath(dataDir: String) -> String { dataDir + "/status.json" }

    /// Rewrites `status.json` when something changed (and at least once a minute), and
    /// applies log retention once a minute.
    private func startHousekeeping() {
        POSIXThread.detach { [self] in
            var last: StatusSnapshot?
            var lastWrite = 0.0, lastRetention = monotonicSeconds(), lastCheckpoint = monotonicSeconds()
            let path = Self.statusPath(dataDir: config.dataDir)
            while !stopping.load(ordering: .relaxed) {
                var now = snapshot()
                let changed = last.map { var l = $0; l.updatedAt = now.updatedAt; return l != now } ?? true
                if changed || monotonicSeconds() - lastWrite >= 60 {
                    now.updatedAt = clock.now()
                    let bytes = Array(JSONWriter.pretty(now.json).utf8) + [0x0A]
                    let tmp = path + ".tmp"
                    if (try? writeFile(tmp, bytes)) != nil, rename(tmp, path) == 0 {
                        last = now
                        lastWrite = monotonicSeconds()
                    }
                }
                log.checkHealth()
                if monotonicSeconds() - lastCheckpoint >= Double(config.log.checkpointSeconds) {
                    log.scheduleCheckpoint()
                    lastCheckpoint = monotonicSeconds()
                }
                if monotonicSeconds() - lastRetention >= 60 {
                    log.applyRetention()
                    lastRetention = monotonicSeconds()
                }
                usleep(1_000_000)
            }
        }
    }

    /// One line for `STATUS=`.
    public var statusLine: String {
        guard !fanout.runners.isEmpty else { return counters.summary }
        let statuses = fanout.runners.map(\.status)
        let delivered = statuses.map(\.delivered).reduce(0, +)
        return counters.summary + ", delivered \(delivered), failing sinks \(statuses.filter(\.failing).count)"
    }

    /// Loads the listener's certificate and key (`credential:NAME` is a file in systemd's
    /// credentials directory).
    static func loadTLS(_ settings: DaemonConfig.TLSSettings, secrets: SecretResolver) throws(StartError) -> TLSServerContext {
        func path(_ value: String, _ key: String) throws(StartError) -> String {
            guard value.hasPrefix("credential:") else { return value }
            guard let dir = secrets.environment["CREDENTIALS_DIRECTORY"] else {
                throw StartError(description: "tls.\(key): CREDENTIALS_DIRECTORY is not set (no LoadCredential=)")
            }
            return dir + "/" + value.dropFirst("credential:".count)
        }
        let certificate = try path(settings.certificate, "certificate"), key = try path(settings.privateKey, "privateKey")
        do {
            return try TLSServerContext(certificate: certificate, privateKey: key)
        } catch {
            throw StartError(description: "tls: \(error)")
        }
    }

    /// Resolves every endpoint's token references. An unset `env:` variable is skipped with a
    /// warning (so one config can list a variable and a fallback); an unreadable file or
    /// credential is an error; an endpoint left without any token refuses to start (fail closed).
    public static func resolveEndpoints(
        _ config: DaemonConfig, secrets: SecretResolver, logger: Logger
    ) throws(StartError) -> [WebhookHandler.Endpoint] {
        var result: [WebhookHandler.Endpoint] = []
        for (i, endpoint) in config.endpoints.enumerated() {
            var tokens: [String] = []
            for (k, ref) in endpoint.tokens.enumerated() {
                switch secrets.resolve(ref) {
                case .success(let token):
                    if case .literal = ref {
                        logger.warning(
                            "endpoint uses an inline token from the config file; prefer env:, file: or credential:",
                            metadata: ["endpoint": "\(endpoint.name)"])
                    }
                    tokens.append(token)
                case .failure(.absent(let why)):
                    logger.warning("token reference skipped", metadata: ["endpoint": "\(endpoint.name)", "reason": "\(why)"])
                case .failure(.unusable(let why)):
                    throw StartError(description: "endpoints[\(i)].tokens[\(k)]: \(why)")
                }
            }
            guard !tokens.isEmpty else {
                throw StartError(description: "endpoints[\(i)].tokens: no token could be resolved; refusing to accept unauthenticated events")
            }
            result.append(WebhookHandler.Endpoint(name: endpoint.name, path: endpoint.path, tokens: TokenPolicy(tokens: tokens)))
        }
        return result
    }
}
