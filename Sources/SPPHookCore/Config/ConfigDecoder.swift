// SPDX-License-Identifier: MIT

/// Decodes and validates ``DaemonConfig`` from JSON text. Unknown keys, wrong types and
/// impossible values are errors naming the key path, so a typo never silently falls back
/// to a default.
public enum ConfigDecoder {
    public static func decode(_ bytes: [UInt8]) throws(ConfigError) -> DaemonConfig {
        let root: JSONValue
        do {
            root = try JSONParser.parse(bytes)
        } catch {
            let (line, column) = lineAndColumn(of: error.offset, in: bytes)
            throw ConfigError("", "not valid JSON: \(error.reason.rawValue) at line \(line), column \(column)")
        }
        guard case .object(let o) = root else { throw ConfigError("", "the top level must be a JSON object") }
        try allowKeys(o, ["listen", "dataDir", "endpoints", "classify", "limits", "dedupWindowSeconds", "sinks", "api",
            "log", "admin", "tls", "instance"], at: "")

        let listenText = try string(o["listen"], "listen", default: "127.0.0.1:8080")
        guard let listen = DaemonConfig.ListenAddress(parsing: listenText) else {
            throw ConfigError("listen", "expected host:port or [ipv6]:port, got \"\(listenText)\"")
        }
        let dataDir = try string(o["dataDir"], "dataDir", default: "./spp-data")
        guard !dataDir.isEmpty else { throw ConfigError("dataDir", "must not be empty") }

        let endpoints = try decodeEndpoints(o["endpoints"])
        let classify = try decodeClassify(o["classify"])
        let limits = try decodeLimits(o["limits"])
        let dedup = try int(o["dedupWindowSeconds"], "dedupWindowSeconds", default: 86400, range: 0...(366 * 86400))

        let sinks = try decodeSinks(o["sinks"])
        let api = try decodeAPI(o["api"])
        if api == nil, let i = sinks.firstIndex(where: { if case .orderMessage = $0.kind { true } else { false } }) {
            throw ConfigError("sinks[\(i)].type", "spp-order-message sinks need the \"api\" section (baseURL or subdomain, key)")
        }
        var config = DaemonConfig(
            listen: listen, dataDir: dataDir, endpoints: endpoints, classify: classify, limits: limits,
            dedupWindowSeconds: dedup, sinks: sinks)
        config.api = api
        config.log = try decodeLogSettings(o["log"])
        config.admin = try decodeAdmin(o["admin"])
        config.tls = try decodeTLS(o["tls"])
        if o["instance"] != nil {
            let name = try string(o["instance"], "instance", default: nil)
            guard !name.isEmpty, name.utf8.count <= 64, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ConfigError("instance", "must be 1–64 printable ASCII characters without spaces")
            }
            config.instance = name
        }
        return config
    }

    static func decodeEndpoints(_ value: JSONValue?) throws(ConfigError) -> [DaemonConfig.Endpoint] {
        guard let value else { throw ConfigError("endpoints", "is required: at least one endpoint") }
        guard case .array(let list) = value, !list.isEmpty else {
            throw ConfigError("endpoints", "must be a non-empty array")
        }
        var result: [DaemonConfig.Endpoint] = []
        var names = Set<String>(), paths = Set<String>()
        for (i, item) in list.enumerated() {
            let at = "endpoints[\(i)]"
            guard case .object(let e) = item else { throw ConfigError(at, "must be an object") }
            try allowKeys(e, ["name", "path", "tokens"], at: at)
            let name = try string(e["name"], "\(at).name", default: nil)
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") })
            else { throw ConfigError("\(at).name", "must be non-empty printable ASCII without quotes or spaces") }
            guard names.insert(name).inserted else { throw ConfigError("\(at).name", "duplicate endpoint name \"\(name)\"") }
            let path = try string(e["path"], "\(at).path", default: nil)
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"),
                path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
            else { throw ConfigError("\(at).path", "must start with / and contain no spaces, ? or #") }
            guard paths.insert(path).inserted else { throw ConfigError("\(at).path", "duplicate path \"\(path)\"") }
            guard case .array(let tokenValues)? = e["tokens"], !tokenValues.isEmpty else {
                throw ConfigError("\(at).tokens", "must be a non-empty array of secrets (literal, env:NAME, file:/path or credential:NAME)")
            }
            var tokens: [SecretReference] = []
            for (k, t) in tokenValues.enumerated() {
                guard case .string(let s) = t, !s.isEmpty else {
                    throw ConfigError("\(at).tokens[\(k)]", "must be a non-empty string")
                }
                let ref = SecretReference(parsing: s)
                switch ref {
                case .environment(let n) where n.isEmpty, .file(let n) where n.isEmpty, .credential(let n) where n.isEmpty:
                    throw ConfigError("\(at).tokens[\(k)]", "names no variable, file or credential")
                case .credential(let n) where n.contains("/"):
                    throw ConfigError("\(at).tokens[\(k)]", "a credential name must not contain /")
                default: break
                }
                tokens.append(ref)
            }
            result.append(DaemonConfig.Endpoint(name: name, path: path, tokens: tokens))
        }
        return result
    }

    static func decodeClassify(_ value: JSONValue?) throws(ConfigError) -> [String: EventCategory] {
        guard let value else { return [:] }
        guard case .object(let o) = value else { throw ConfigError("classify", "must be an object of event name → category") }
        var result: [String: EventCategory] = [:]
        for m in o.members {
            let at = "classify.\(m.key)"
            guard !m.key.isEmpty else { throw ConfigError(at, "empty event name") }
            guard case .string(let c) = m.value, let category = EventCategory(rawValue: c) else {
                let names = EventCategory.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigError(at, "must be one of \(names)")
            }
            result[m.key] = category
        }
        return result
    }

    static func decodeLimits(_ value: JSONValue?) throws(ConfigError) -> DaemonConfig.Limits {
        var limits = DaemonConfig.Limits()
        guard let value else { return limits }
        guard case .object(let o) = value else { throw ConfigError("limits", "must be an object") }
        try allowKeys(o, ["maxBodyBytes", "maxHeaderBytes", "maxHeaderCount", "maxConnections", "headerTimeoutSeconds",
            "bodyTimeoutSeconds", "idleTimeoutSeconds", "eventLoops"], at: "limits")
        limits.maxBodyBytes = try int(o["maxBodyBytes"], "limits.maxBodyBytes", default: limits.maxBodyBytes, range: 1024...(256 << 20))
        limits.maxHeaderBytes = try int(o["maxHeaderBytes"], "limits.maxHeaderBytes", default: limits.maxHeaderBytes, range: 1024...(1 << 20))
        limits.maxHeaderCount = try int(o["maxHeaderCount"], "limits.maxHeaderCount", default: limits.maxHeaderCount, range: 8...10_000)
        limits.maxConnections = try int(o["maxConnections"], "limits.maxConnections", default: limits.maxConnections, range: 1...1_000_000)
        limits.headerTimeoutSeconds = try int(o["headerTimeoutSeconds"], "limits.headerTimeoutSeconds", default: limits.headerTimeoutSeconds, range: 1...3600)
        limits.bodyTimeoutSeconds = try int(o["bodyTimeoutSeconds"], "limits.bodyTimeoutSeconds", default: limits.bodyTimeoutSeconds, range: 1...3600)
        limits.idleTimeoutSeconds = try int(o["idleTimeoutSeconds"], "limits.idleTimeoutSeconds", default: limits.idleTimeoutSeconds, range: 1...86400)
        if o["eventLoops"] != nil { limits.eventLoops = try int(o["eventLoops"], "limits.eventLoops", default: 1, range: 1...64) }
        return limits
    }

    static func decodeLogSettings(_ value: JSONValue?) throws(ConfigError) -> DaemonConfig.LogSettings {
        var settings = DaemonConfig.LogSettings()
        guard let value else { return settings }
        guard case .object(let o) = value else { throw ConfigError("log", "must be an object") }
        try allowKeys(o, ["maxBytes", "keepFiles", "keepDays", "checkpointSeconds"], at: "log")
        if o["maxBytes"] != nil {
            settings.maxBytes = Int64(try int(o["maxBytes"], "log.maxBytes", default: 0, range: 4096...(1 << 50)))
        }
        if o["keepFiles"] != nil { settings.keepFiles = try int(o["keepFiles"], "log.keepFiles", default: 0, range: 0...1_000_000) }
        if o["keepDays"] != nil { settings.keepDays = try int(o["keepDays"], "log.keepDays", default: 0, range: 0...36_500) }
        settings.checkpointSeconds = try int(o["checkpointSeconds"], "log.checkpointSeconds", default: 60, range: 1...86_400)
        return settings
    }

    static func decodeTLS(_ value: JSONValue?) throws(ConfigError) -> DaemonConfig.TLSSettings? {
        guard let value else { return nil }
        guard case .object(let o) = value else {
            throw ConfigError("tls", "must be an object: {\"certificate\": \"/path/fullchain.pem\", \"privateKey\": \"/path/key.pem\"}")
        }
        try allowKeys(o, ["certificate", "privateKey"], at: "tls")
        let certificate = try string(o["certificate"], "tls.certificate", default: nil)
        let key = try string(o["privateKey"], "tls.privateKey", default: nil)
        guard !certificate.isEmpty else { throw ConfigError("tls.certificate", "must not be empty") }
        guard !key.isEmpty else { throw ConfigError("tls.privateKey", "must not be empty") }
        return DaemonConfig.TLSSettings(certificate: certificate, privateKey: key)
    }

    static func decodeAdmin(_ value: JSONValue?) throws(ConfigError) -> DaemonConfig.AdminSettings? {
        guard let value else { return nil }
        guard case .object(let o) = value else { throw ConfigError("admin", "must be an object, e.g. {\"listen\": \"127.0.0.1:9101\"}") }
        try allowKeys(o, ["listen"], at: "admin")
        let text = try string(o["listen"], "admin.listen", default: DaemonConfig.AdminSettings.defaultListen.description)
        guard let listen = DaemonConfig.ListenAddress(parsing: text) else {
            throw ConfigError("admin.listen", "expected host:port or [ipv6]:port, got \"\(text)\"")
        }
        return DaemonConfig.AdminSettings(listen: listen)
    }

    static func allowKeys(_ o: JSONObject, _ allowed: Set<String>, at path: String) throws(ConfigError) {
        for key in o.keys where !allowed.contains(key) {
            let full = path.isEmpty ? key : "\(path).\(key)"
            throw ConfigError(full, "unknown key (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    static func string(_ value: JSONValue?, _ path: String, default fallback: String?) throws(ConfigError) -> String {
        switch value {
        case nil:
            guard let fallback else { throw ConfigError(path, "is required") }
            return fallback
        case .string(let s)?: return s
        case .some(let v): throw ConfigError(path, "must be a string, not \(v.typeName)")
        }
    }

    static func int(_ value: JSONValue?, _ path: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        switch value {
        case nil: return fallback
        case .number(let n)?:
            guard let v = Int(n) else { throw ConfigError(path, "must be a whole number, not \(n)") }
            guard range.contains(v) else { throw ConfigError(path, "must be between \(range.lowerBound) and \(range.upperBound), not \(v)") }
            return v
        case .some(let v): throw ConfigError(path, "must be a number, not \(v.typeName)")
        }
    }

    static func lineAndColumn(of offset: Int, in bytes: [UInt8]) -> (Int, Int) {
        var line = 1, column = 1
        for b in bytes.prefix(offset) {
            if b == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
