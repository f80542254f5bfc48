// SPDX-License-Identifier: MIT

/// What the running daemon reports about itself in `<dataDir>/status.json` (rewritten
/// about once a second while it runs) and `spp-hookd status` shows.
public struct StatusSnapshot: Sendable, Equatable {
    public struct Endpoint: Sendable, Equatable {
        public var name: String
        /// Requests that reached the endpoint's path; of them, `rejected` were refused (bad
        /// token, malformed body or envelope, wrong method or encoding) and `failed` could
        /// not be stored (the log failed; answered 503).
        public var received = 0, stored = 0, duplicates = 0, rejected = 0, failed = 0
        public var lastStoredAt: Timestamp?

        public init(name: String) { self.name = name }

        public var json: JSONObject {
            JSONObject([
                .init(key: "name", value: .string(name)), .init(key: "received", value: .number(String(received))),
                .init(key: "stored", value: .number(String(stored))), .init(key: "duplicates", value: .number(String(duplicates))),
                .init(key: "rejected", value: .number(String(rejected))), .init(key: "failed", value: .number(String(failed))),
                .init(key: "lastStoredAt", value: lastStoredAt.map { .string($0.rfc3339) } ?? .null),
            ])
        }
    }

    public struct Sink: Sendable, Equatable {
        public var name: String
        public var cursorSeq: UInt64 = 0
        public var delivered = 0, retried = 0, deadLettered = 0, retrying = 0
        /// Events its `where` passed over (or its `transform` made nothing of).
        public var skipped = 0
        public var failing = false
        public var nextRetryInSeconds: Double?
        public var lastSuccessAt: Timestamp?
        public var lastErrorAt: Timestamp?
        public var lastError: String?
        /// An inconsistency found at start-up (the cursor was ahead of the log), and what was done.
        public var warning: String?

        public init(name: String) { self.name = name }

        public var json: JSONObject {
            JSONObject([
                .init(key: "name", value: .string(name)), .init(key: "cursorSeq", value: .number(String(cursorSeq))),
                .init(key: "delivered", value: .number(String(delivered))), .init(key: "skipped", value: .number(String(skipped))),
                .init(key: "retried", value: .number(String(retried))),
                .init(key: "deadLettered", value: .number(String(deadLettered))), .init(key: "retrying", value: .number(String(retrying))),
                .init(key: "failing", value: .bool(failing)),
                .init(key: "nextRetryInSeconds", value: nextRetryInSeconds.map { .number(String(Int($0.rounded(.up)))) } ?? .null),
                .init(key: "lastSuccessAt", value: lastSuccessAt.map { .string($0.rfc3339) } ?? .null),
                .init(key: "lastErrorAt", value: lastErrorAt.map { .string($0.rfc3339) } ?? .null),
                .init(key: "lastError", value: lastError.map { .string($0) } ?? .null),
                .init(key: "warning", value: warning.map { .string($0) } ?? .null),
            ])
        }
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
        .object(JSONObject([
            .init(key: "pid", value: .number(String(pid))), .init(key: "startedAt", value: .string(startedAt.rfc3339)),
            .init(key: "updatedAt", value: .string(updatedAt.rfc3339)),
            .init(key: "listen", value: .array(listen.map { .string($0) })), .init(key: "admin", value: admin.map { .string($0) } ?? .null),
            .init(key: "lastSeq", value: .number(String(lastSeq))),
            .init(key: "endpoints", value: .array(endpoints.map { .object($0.json) })),
            .init(key: "sinks", value: .array(sinks.map { .object($0.json) })),
        ]))
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
                x.skipped = int(s["skipped"])
                x.failing = s["failing"] == .bool(true)
                if case .number(let r)? = s["nextRetryInSeconds"] { x.nextRetryInSeconds = Double(r) }
                (x.lastSuccessAt, x.lastErrorAt, x.lastError) = (time(s["lastSuccessAt"]), time(s["lastErrorAt"]), s["lastError"]?.stringValue)
                x.warning = s["warning"]?.stringValue
                sinks.append(x)
            }
        }
        var listen: [String] = []
        if case .array(let l)? = json["listen"] { listen = l.compactMap(\.stringValue) }
        self.init(pid: pid, startedAt: started, updatedAt: updated, listen: listen, admin: json["admin"]?.stringValue,
            lastSeq: lastSeq, endpoints: endpoints, sinks: sinks)
    }
}
