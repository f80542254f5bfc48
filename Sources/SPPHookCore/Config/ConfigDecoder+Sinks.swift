// SPDX-License-Identifier: MIT

extension ConfigDecoder {
    static func decodeSinks(_ value: JSONValue?) throws(ConfigError) -> [SinkConfig] {
        guard let value else { return [] }
        guard case .array(let list) = value else { throw ConfigError("sinks", "must be an array") }
        var result: [SinkConfig] = []
        var names = Set<String>()
        for (i, item) in list.enumerated() {
            let at = "sinks[\(i)]"
            guard case .object(let o) = item else { throw ConfigError(at, "must be an object") }
            let type = try string(o["type"], "\(at).type", default: nil)
            let programs = try decodePrograms(o, at: at)
            let kind: SinkConfig.Kind
            switch type {
            case "file": kind = try decodeFileSink(o, at: at)
            case "shell": kind = try decodeShellSink(o, at: at)
            case "forward": kind = try decodeForwardSink(o, at: at, programs: programs)
            case "spp-order-message": kind = try decodeOrderMessageSink(o, at: at, programs: programs)
            case "postgres": kind = try decodePostgresSink(o, at: at)
            default:
                throw ConfigError("\(at).type", "must be \"file\", \"shell\", \"forward\", \"spp-order-message\" or \"postgres\", not \"\(type)\"")
            }
            let name = try string(o["name"], "\(at).name", default: nil)
            guard !name.isEmpty, name.count <= 64,
                name.utf8.allSatisfy({ HTTPSyntax.isTokenChar($0) && $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "|") }),
                !name.hasPrefix(".")
            else { throw ConfigError("\(at).name", "must be 1–64 letters, digits, '.', '-' or '_' (it names files)") }
            guard names.insert(name).inserted else { throw ConfigError("\(at).name", "duplicate sink name \"\(name)\"") }
            let filter = try decodeFilter(o, at: at)
            let retry = try decodeRetry(o["retry"], at: "\(at).retry")
            let ordered: Bool
            switch o["ordered"] {
            case nil: ordered = true
            case .bool(let b)?: ordered = b
            case .some(let v): throw ConfigError("\(at).ordered", "must be true or false, not \(v.typeName)")
            }
            result.append(SinkConfig(name: name, kind: kind, filter: filter, retry: retry, ordered: ordered, programs: programs))
        }
        return result
    }

    /// The keys every sink type takes.
    private static let commonSinkKeys: Set<String> = ["name", "type", "categories", "events", "retry", "ordered", "where", "transform"]

    private static func decodeFileSink(_ o: JSONObject, at: String) throws(ConfigError) -> SinkConfig.Kind {
        try allowKeys(o, commonSinkKeys.union(["path", "mode"]), at: at)
        let path = try string(o["path"], "\(at).path", default: nil)
        guard !path.isEmpty else { throw ConfigError("\(at).path", "must not be empty") }
        let modeText = try string(o["mode"], "\(at).mode", default: "0600")
        guard let mode = Int(modeText, radix: 8), (0...0o777).contains(mode) else {
            throw ConfigError("\(at).mode", "must be an octal file mode such as \"0640\"")
        }
        return .file(path: path, mode: mode)
    }

    private static func decodeShellSink(_ o: JSONObject, at: String) throws(ConfigError) -> SinkConfig.Kind {
        try allowKeys(o, commonSinkKeys.union(["command", "timeoutSeconds", "concurrency"]), at: at)
        guard case .array(let parts)? = o["command"], !parts.isEmpty else {
            throw ConfigError("\(at).command", "must be a non-empty array: the program and its arguments (no shell string)")
        }
        var command: [String] = []
        for (k, p) in parts.enumerated() {
            guard case .string(let s) = p, !s.isEmpty || k > 0 else {
                throw ConfigError("\(at).command[\(k)]", "must be a non-empty string")
            }
            command.append(s)
        }
        let timeout = try double(o["timeoutSeconds"], "\(at).timeoutSeconds", default: 30, range: 0.1...86400)
        let concurrency = try int(o["concurrency"], "\(at).concurrency", default: 1, range: 1...64)
        return .shell(command: command, timeoutSeconds: timeout, concurrency: concurrency)
    }

    private static func decodeForwardSink(_ o: JSONObject, at: String, programs: SinkPrograms) throws(ConfigError) -> SinkConfig.Kind {
        try allowKeys(o, commonSinkKeys.union(["url", "headers", "timeoutSeconds", "caFile", "body", "signingSecret", "concurrency", "proxy"]), at: at)
        let urlText = try string(o["url"], "\(at).url", default: nil)
        var url = SinkConfig.ForwardOptions.unresolvedURL
        var urlSecret: SecretReference?
        switch SecretReference(parsing: urlText) {
        case .literal:
            guard let u = HTTPURL(urlText) else {
                throw ConfigError("\(at).url", "must be an http:// or https:// URL, or env:NAME, file:PATH, credential:NAME holding one")
            }
            url = u
        case let reference: urlSecret = reference
        }
        var headers: [String: String] = [:]
        if let h = o["headers"] {
            guard case .object(let ho) = h else { throw ConfigError("\(at).headers", "must be an object of name → value") }
            for m in ho.members {
                guard !m.key.isEmpty, m.key.utf8.allSatisfy(HTTPSyntax.isTokenChar) else {
                    throw ConfigError("\(at).headers.\(m.key)", "is not a valid header name")
                }
                guard case .string(let v) = m.value, v.utf8.allSatisfy({ HTTPSyntax.isFieldValueChar($0) }) else {
                    throw ConfigError("\(at).headers.\(m.key)", "must be a string without control characters")
                }
                let reserved = ["host", "content-length", "transfer-encoding", "connection", "webhook-id", "webhook-timestamp", "webhook-signature"]
                guard !reserved.contains(m.key.lowercasedASCII()) else {
                    throw ConfigError("\(at).headers.\(m.key)", "is set by spp-hookd itself")
                }
                headers[m.key] = v
            }
        }
        let timeout = try double(o["timeoutSeconds"], "\(at).timeoutSeconds", default: 10, range: 0.1...600)
        let caFile: String? = o["caFile"] == nil ? nil : try string(o["caFile"], "\(at).caFile", default: nil)
        if programs.transform != nil, o["body"] != nil {
            throw ConfigError("\(at).body", "cannot be combined with transform (the transform's output is the body)")
        }
        let bodyText = try string(o["body"], "\(at).body", default: "event")
        guard let body = SinkConfig.ForwardOptions.Body(rawValue: bodyText) else {
            throw ConfigError("\(at).body", "must be \"event\" (the stored event) or \"spp\" (SPP's envelope without token)")
        }
        var secret: SecretReference?
        if o["signingSecret"] != nil {
            let s = try string(o["signingSecret"], "\(at).signingSecret", default: nil)
            guard !s.isEmpty else { throw ConfigError("\(at).signingSecret", "must not be empty") }
            secret = SecretReference(parsing: s)
        }
        let concurrency = try int(o["concurrency"], "\(at).concurrency", default: 1, range: 1...64)
        let proxy = try decodeProxy(o["proxy"], at: "\(at).proxy")
        return .forward(SinkConfig.ForwardOptions(url: url, headers: headers, timeoutSeconds: timeout, caFile: caFile,
            body: body, signingSecret: secret, concurrency: concurrency, urlSecret: urlSecret, proxy: proxy))
    }

    /// A forward sink's `proxy`: an http, https or socks5 URL, or "" for none.
    private static func decodeProxy(_ value: JSONValue?, at: String) throws(ConfigError) -> String? {
        guard value != nil else { return nil }
        let text = try string(value, at, default: nil)
        let schemes = ["http://", "https://", "socks5://", "socks5h://"]
        guard text.isEmpty || (schemes.contains { text.lowercasedASCII().hasPrefix($0) } && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F })
        else { throw ConfigError(at, "must be an http://, https:// or socks5:// proxy URL, or \"\" for no proxy") }
        return text
    }

    private static func decodeOrderMessageSink(_ o: JSONObject, at: String, programs: SinkPrograms) throws(ConfigError) -> SinkConfig.Kind {
        try allowKeys(o, commonSinkKeys.union(["message", "staffOnly", "userId"]), at: at)
        var message: String?
        switch (o["message"], programs.transform) {
        case (nil, nil): throw ConfigError("\(at).message", "is required (or a transform that makes the message text)")
        case (nil, _): message = nil
        case (_?, nil):
            message = try string(o["message"], "\(at).message", default: nil)
            guard message?.isEmpty == false else { throw ConfigError("\(at).message", "must not be empty") }
        case (_?, _?): throw ConfigError("\(at).message", "cannot be combined with transform (one of them makes the text)")
        }
        var staffOnly = false
        switch o["staffOnly"] {
        case nil: break
        case .bool(let b)?: staffOnly = b
        case .some(let v): throw ConfigError("\(at).staffOnly", "must be true or false, not \(v.typeName)")
        }
        let userID: Int? = o["userId"] == nil ? nil : try int(o["userId"], "\(at).userId", default: 0, range: 1...Int(Int32.max))
        return .orderMessage(message: message, staffOnly: staffOnly, userID: userID)
    }

    private static func decodePostgresSink(_ o: JSONObject, at: String) throws(ConfigError) -> SinkConfig.Kind {
        try allowKeys(o, commonSinkKeys.union(["connection", "table", "batchSize"]), at: at)
        let connection = try string(o["connection"], "\(at).connection", default: nil)
        guard !connection.isEmpty else { throw ConfigError("\(at).connection", "must not be empty") }
        let table = try string(o["table"], "\(at).table", default: "spp_events")
        guard PostgresStatements.isValidTable(table) else {
            throw ConfigError("\(at).table", "must be a table name or schema.table: letters, digits and _, not starting with a digit, at most 40 characters each")
        }
        let batch = try int(o["batchSize"], "\(at).batchSize", default: 500, range: 1...5000)
        return .postgres(SinkConfig.PostgresOptions(connection: SecretReference(parsing: connection), table: table, batchSize: batch))
    }

    /// `where` and `transform`: jq source text (compiled, and checked, by the daemon).
    static func decodePrograms(_ o: JSONObject, at: String) throws(ConfigError) -> SinkPrograms {
        func program(_ key: String) throws(ConfigError) -> String? {
            guard let value = o[key] else { return nil }
            let s: String
            switch value {
            case .string(let text): s = text
            case .array(let lines) where !lines.isEmpty:
                var text: [String] = []
                for (k, line) in lines.enumerated() {
                    guard case .string(let l) = line else { throw ConfigError("\(at).\(key)[\(k)]", "must be a string (a line of the program)") }
                    text.append(l)
                }
                s = text.joined(separator: "\n")
            default:
                throw ConfigError("\(at).\(key)", "must be a jq program: a string, or an array of its lines, not \(value.typeName)")
            }
            guard !s.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) else {
                throw ConfigError("\(at).\(key)", "must not be empty")
            }
            guard s.utf8.count <= SinkPrograms.maxSourceBytes, !s.utf8.contains(0) else {
                throw ConfigError("\(at).\(key)", "must be at most \(SinkPrograms.maxSourceBytes) bytes, without NUL")
            }
            return s
        }
        return SinkPrograms(where: try program("where"), transform: try program("transform"))
    }

    static func decodeFilter(_ o: JSONObject, at: String) throws(ConfigError) -> SinkFilter {
        var filter = SinkFilter()
        if let value = o["categories"] {
            guard case .array(let list) = value, !list.isEmpty else {
                throw ConfigError("\(at).categories", "must be a non-empty array of categories")
            }
            var set = Set<EventCategory>()
            for (k, v) in list.enumerated() {
                guard case .string(let s) = v, let c = EventCategory(rawValue: s) else {
                    throw ConfigError("\(at).categories[\(k)]", "must be one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(c)
            }
            filter.categories = set
        }
        if let value = o["events"] {
            guard case .array(let list) = value, !list.isEmpty else {
                throw ConfigError("\(at).events", "must be a non-empty array of event names or resource.* patterns")
            }
            var events: [String] = []
            for (k, v) in list.enumerated() {
                guard case .string(let s) = v, !s.isEmpty, !s.dropLast(2).contains("*"), s == "*" || !s.hasSuffix("*") || s.hasSuffix(".*")
                else { throw ConfigError("\(at).events[\(k)]", "must be an event name (order.created) or a resource.* pattern") }
                events.append(s)
            }
            filter.events = events
        }
        return filter
    }

    static func decodeRetry(_ value: JSONValue?, at: String) throws(ConfigError) -> RetryPolicy {
        var retry = RetryPolicy()
        guard let value else { return retry }
        guard case .object(let o) = value else { throw ConfigError(at, "must be an object") }
        try allowKeys(o, ["maxAttempts", "initialSeconds", "maxSeconds"], at: at)
        retry.maxAttempts = try int(o["maxAttempts"], "\(at).maxAttempts", default: retry.maxAttempts, range: 1...1000)
        retry.initialSeconds = try double(o["initialSeconds"], "\(at).initialSeconds", default: retry.initialSeconds, range: 0.001...86400)
        retry.maxSeconds = try double(o["maxSeconds"], "\(at).maxSeconds", default: max(retry.maxSeconds, retry.initialSeconds),
            range: retry.initialSeconds...(7 * 86400))
        return retry
    }

    static func double(_ value: JSONValue?, _ path: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigError) -> Double {
        switch value {
        case nil: return fallback
        case .number(let n)?:
            guard let v = Double(n), range.contains(v) else {
                throw ConfigError(path, "must be a number between \(range.lowerBound) and \(range.upperBound), not \(n)")
            }
            return v
        case .some(let v): throw ConfigError(path, "must be a number, not \(v.typeName)")
        }
    }
}
