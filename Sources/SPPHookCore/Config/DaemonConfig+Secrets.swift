// SPDX-License-Identifier: MIT

extension DaemonConfig {
    /// Every secret the configuration refers to, with its key path
    /// (`endpoints[0].tokens[1]`, `api.key`, `sinks[2].signingSecret`, `sinks[3].url`).
    public var secretReferences: [(key: String, reference: SecretReference)] {
        var found: [(key: String, reference: SecretReference)] = []
        for (i, e) in endpoints.enumerated() {
            for (j, t) in e.tokens.enumerated() { found.append(("endpoints[\(i)].tokens[\(j)]", t)) }
        }
        if let api { found.append(("api.key", api.key)) }
        for (i, s) in sinks.enumerated() {
            if case .forward(let f) = s.kind, let secret = f.signingSecret { found.append(("sinks[\(i)].signingSecret", secret)) }
            if case .forward(let f) = s.kind, let secret = f.urlSecret { found.append(("sinks[\(i)].url", secret)) }
            if case .postgres(let p) = s.kind { found.append(("sinks[\(i)].connection", p.connection)) }
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
