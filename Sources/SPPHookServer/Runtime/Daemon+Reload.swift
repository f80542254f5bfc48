// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore
import SPPHookPOSIX
import Synchronization

extension Daemon {
    /// Applies a new configuration atomically, as far as ``ReloadPlan`` allows; any error
    /// leaves the running configuration untouched.
    public func reload(_ new: DaemonConfig, secrets: SecretResolver) throws(StartError) {
        let plan: ReloadPlan
        switch ReloadPlan.check(running: config, new: new, socketActivated: socketActivated) {
        case .success(let p): plan = p
        case .failure(let refusal): throw .reload(refusal)
        }
        let endpoints = try Self.resolveEndpoints(new, secrets: secrets, logger: logger)
        // Certificates are read again even when the paths are unchanged: renewed files apply.
        let tls = try new.tls.map { settings throws(StartError) in try Self.loadTLS(settings, secrets: secrets) }
        if plan.programsChanged {
            do throws(SinkFactory.SetupError) {
                try fanout.updatePrograms(new.sinks)
            } catch {
                throw .sinks(error)
            }
        }
        handler.update(endpoints: endpoints, classifier: new.classifier)
        server.update(HTTPServer.Settings(new.limits, tls: tls))
        status.config.withLock { $0 = new }
    }

    /// Loads the listener's certificate and key (`credential:NAME` is a file in systemd's
    /// credentials directory).
    static func loadTLS(_ settings: DaemonConfig.TLSSettings, secrets: SecretResolver) throws(StartError) -> TLSServerContext {
        func path(_ value: String, _ key: String) throws(StartError) -> String {
            switch secrets.filePath(value) {
            case .success(let path): return path
            case .failure(let why): throw .secret(key: "tls.\(key)", reason: "\(why)")
            }
        }
        let certificate = try path(settings.certificate, "certificate"), key = try path(settings.privateKey, "privateKey")
        do {
            return try TLSServerContext(certificate: certificate, privateKey: key)
        } catch {
            throw .secret(key: "tls", reason: "\(error)")
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
                    throw .secret(key: "endpoints[\(i)].tokens[\(k)]", reason: "\(why)")
                }
            }
            guard !tokens.isEmpty else {
                throw .secret(key: "endpoints[\(i)].tokens", reason: "no token could be resolved; refusing to accept unauthenticated events")
            }
            result.append(WebhookHandler.Endpoint(name: endpoint.name, path: endpoint.path, tokens: TokenPolicy(tokens: tokens)))
        }
        return result
    }
}
