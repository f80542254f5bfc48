// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore

/// The running receive path: event log, webhook handler and HTTP server, built from a
/// validated config. The CLI and the tests build it the same way.
public final class Daemon: Sendable {
    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public let config: DaemonConfig
    public let log: EventLog
    public let server: HTTPServer
    /// Where the listener is bound (the real port when `listen` asked for port 0).
    public let address: DaemonConfig.ListenAddress
    private let logger: Logger

    /// Resolves secrets, opens (and repairs) the event log, binds, and starts accepting.
    public static func start(
        config: DaemonConfig, secrets: SecretResolver, clock: any WallClock = SystemWallClock(), logger: Logger
    ) throws(StartError) -> Daemon {
        let endpoints = try resolveEndpoints(config, secrets: secrets, logger: logger)
        let log: EventLog
        do {
            log = try EventLog(directory: config.dataDir, dedupWindowSeconds: config.dedupWindowSeconds, clock: clock, logger: logger)
        } catch {
            throw StartError(description: "cannot open the event log in \(config.dataDir): \(error)")
        }
        let r = log.recovery
        logger.info("event log open", metadata: [
            "path": "\(log.path)", "events": "\(r.lines)", "lastSeq": "\(r.lastSeq)", "dedupEntries": "\(r.dedupEntries)",
        ])
        let fd: Int32
        do {
            fd = try Socket.listen(on: config.listen)
        } catch {
            throw StartError(description: "cannot listen on \(config.listen): \(error)")
        }
        let address = Socket.localAddress(fd) ?? config.listen
        let handler = WebhookHandler(endpoints: endpoints, classifier: config.classifier, log: log, clock: clock, logger: logger)
        let server = HTTPServer(
            listenFD: fd, handler: handler, parserLimits: config.limits.parserLimits,
            timeouts: ConnectionTimeouts(config.limits), maxConnections: config.limits.maxConnections, logger: logger)
        server.start()
        return Daemon(config: config, log: log, server: server, address: address, logger: logger)
    }

    private init(config: DaemonConfig, log: EventLog, server: HTTPServer, address: DaemonConfig.ListenAddress, logger: Logger) {
        self.config = config
        self.log = log
        self.server = server
        self.address = address
        self.logger = logger
    }

    /// Stops intake, finishes in-flight requests (bounded by `timeout`), and waits for the
    /// log to sync what it has.
    public func stop(timeout: Double) {
        server.shutdown(timeout: timeout)
        log.drain()
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
