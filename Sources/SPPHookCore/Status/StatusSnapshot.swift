// SPDX-License-Identifier: MIT

/// What the running daemon reports about itself in `<dataDir>/status.json` (rewritten
/// about once a second while it runs) and `spp-hookd status` shows.
public struct StatusSnapshot: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var name: String
        public var received = 0, stored = 0, duplicates = 0, rejected = 0, failed = 0
        public var lastStoredAt: Timestamp?

        public init(name: String) { self.name = name }
    }

    public struct Sink: Sendable, Equatable {
        public var name: String
        public var cursorSeq: UInt64 = 0
        public var delivered = 0, retried = 0, deadLettered = 0, retrying = 0
        public var failing = false
        public var nextRetryInSeconds: Double?
        public var lastSuccessAt: Timestamp?
        public var lastErrorAt: Timestamp?
        public var lastError: String?

        public init(name: String) { self.name = name }
    }

    public var pid: Int32
    public var startedAt: Timestamp
    public var updatedAt: Timestamp
    public var listen: [String]
    public var admin: String?
    public var lastSeq: UInt64
    public var endpoints: [Endpoint]
    public var sinks: [Sink]

    public init(
        pid: Int32, startedAt: Timestamp, updatedAt: Timestamp, listen: [String], admin: String?, lastSeq: UInt64,
        endpoints: [Endpoint], sinks: [Sink]
    ) {
        self.pid = pid
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.listen = listen
        self.admin = admin
        self.lastSeq = lastSeq
        self.endpoints = endpoints
        self.sinks = sinks
    }

    public var json: JSONValue {
        func n(_ v: some BinaryInteger) -> JSONValue { .number(String(v)) }
        func t(_ v: Timestamp?) -> JSONValue { v.map { .string($0.rfc3339) } ?? .null }
        func o(_ pairs: [(String, JSONValue)]) -> JSONValue { .object(JSONObject(pairs.map { .init(key: $0.0, value: $0.1) })) }
        return o([
            ("pid", n(pid)), ("startedAt", t(startedAt)), ("updatedAt", t(updatedAt)),
            ("listen", .array(listen.map { .string($0) })), ("admin", admin.map { .string($0) } ?? .null),
            ("lastSeq", n(lastSeq)),
            ("endpoints", .array(endpoints.map { e in
                o([("name", .string(e.name)), ("received", n(e.received)), ("stored", n(e.stored)),
                   ("duplicates", n(e.duplicates)), ("rejected", n(e.rejected)), ("failed", n(e.failed)),
                   ("lastStoredAt", t(e.lastStoredAt))])
            })),
            ("sinks", .array(sinks.map { s in
                o([("name", .string(s.name)), ("cursorSeq", n(s.cursorSeq)), ("delivered", n(s.delivered)),
                   ("retried", n(s.retried)), ("deadLettered", n(s.deadLettered)), ("retrying", n(s.retrying)),
                   ("failing", .bool(s.failing)),
                   ("nextRetryInSeconds", s.nextRetryInSeconds.map { .number(String(Int($0.rounded(.up)))) } ?? .null),
                   ("lastSuccessAt", t(s.lastSuccessAt)), ("lastErrorAt", t(s.lastErrorAt)),
                   ("lastError", s.lastError.map { .string($0) } ?? .null)])
            })),
        ])
    }

    public init?(json: JSONValue) {
        func int(_ v: JSONValue?) -> Int { if case .number(let s)? = v { Int(s) ?? 0 } else { 0 } }
        func time(_ v: JSONValue?) -> Timestamp? { v?.stringValue.flatMap(Timestamp.init(rfc3339:)) }
        guard case .number(let p)? = json["pid"], let pid = Int32(p), let started = time(json["startedAt"]),
            let updated = time(json["updatedAt"]), case .number(let last)? = json["lastSeq"], let lastSeq = UInt64(last)
        else { return nil }
        var endpoints: [Endpoint] = []
        if case .array(let list)? = json["endpoints"] {
            for e in list {
                guard let name = e["name"]?.stringValue else { continue }
                var x = Endpoint(name: name)
                (x.received, x.stored, x.duplicates) = (int(e["received"]), int(e["stored"]), int(e["duplicates"]))
                (x.rejected, x.failed, x.lastStoredAt) = (int(e["rejected"]), int(e["failed"]), time(e["lastStoredAt"]))
                endpoints.append(x)
            }
        }
        var sinks: [Sink] = []
        if case .array(let list)? = json["sinks"] {
            for s in list {
                guard let name = s["name"]?.stringValue else { continue }
                var x = Sink(name: name)
                x.cursorSeq = UInt64(int(s["cursorSeq"]))
                (x.delivered, x.retried, x.deadLettered, x.retrying) = (int(s["delivered"]), int(s["retried"]), int(s["deadLettered"]), int(s["retrying"]))
                x.failing = s["failing"] == .bool(true)
                if case .number(let r)? = s["nextRetryInSeconds"] { x.nextRetryInSeconds = Double(r) }
                (x.lastSuccessAt, x.lastErrorAt, x.lastError) = (time(s["lastSuccessAt"]), time(s["lastErrorAt"]), s["lastError"]?.stringValue)
                sinks.append(x)
            }
        }
        var listen: [String] = []
        if case .array(let l)? = json["listen"] { listen = l.compactMap(\.stringValue) }
        self.init(pid: pid, startedAt: started, updatedAt: updated, listen: listen, admin: json["admin"]?.stringValue,
            lastSeq: lastSeq, endpoints: endpoints, sinks: sinks)
    }
}
