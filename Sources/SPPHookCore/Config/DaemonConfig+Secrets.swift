// SPDX-License-Identifier: MIT

extension DaemonConfig {
    /// Every secret the configuration refers to, with its key path
    /// (`endpoints[0].tokens[1]`, `api.key`, `sinks[2].signingSecret`).
    public var secretReferences: [(key: String, reference: SecretReference)] {
        var found: [(key: String, reference: SecretReference)] = []
        for (i, e) in endpoints.enumerated() {
            for (j, t) in e.tokens.enumerated() { found.append(("endpoints[\(i)].tokens[\(j)]", t)) }
        }
        if let api { found.append(("api.key", api.key)) }
        for (i, s) in sinks.enumerated() {
            if case .forward(let f) = s.kind, let secret = f.signingSecret { found.append(("sinks[\(i)].signingSecret", secret)) }
        }
        return found
    }

    /// The environment variables the secrets come from (`env:NAME`): kept from hooks.
    public var secretVariableNames: Set<String> {
        Set(secretReferences.compactMap { if case .environment(let name) = $0.reference { name } else { nil } })
    }

    /// Key paths of secrets written into the file itself (not `env:`, `file:`, `credential:`).
    public var inlineSecretKeys: [String] {
        secretReferences.compactMap { if case .literal = $0.reference { $0.key } else { nil } }
    }
}

extension DaemonConfig {
    /// Descriptors kept for everything but client connections: the log and the segments
    /// sinks read, listeners, the admin listener and its clients, epoll and wake-up
    /// descriptors, and per sink its cursor, files, sockets and a hook's pipes.
    public var descriptorReserve: Int { 160 + 16 * sinks.count }

    /// `limits.maxConnections`, lowered so that connections can never use the descriptors the
    /// rest of the daemon needs (with `descriptors` the process may open).
    public func connectionLimit(descriptors: Int) -> Int {
        max(1, min(limits.maxConnections, descriptors - descriptorReserve))
    }
}
