// SPDX-License-Identifier: MIT

/// One configured sink: where events go, which ones, and how failures are retried.
public struct SinkConfig: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// Append the event's log line to `path` (`{category}`, `{event}` expand), created
        /// with `mode`; fdatasync per batch.
        case file(path: String, mode: Int)
        /// Run `command` (argv, never a shell string) with the event JSON on stdin.
        case shell(command: [String], timeoutSeconds: Double, concurrency: Int)
        /// POST the event to `url` over HTTP/1.1 (keep-alive; TLS for https).
        case forward(ForwardOptions)
        /// Post `message` (a ``MessageTemplate``) to the event's order through SPP's API; nil
        /// when the sink's `transform` makes the message text instead.
        case orderMessage(message: String?, staffOnly: Bool, userID: Int?)
        /// Insert events into a PostgreSQL table (``PostgresOptions``), many per statement.
        case postgres(PostgresOptions)
    }

    public struct PostgresOptions: Sendable, Equatable {
        /// A libpq connection string or URI, as a secret (it may hold a password).
        public var connection: SecretReference
        /// `table` or `schema.table`: letters, digits and `_`, not starting with a digit.
        public var table: String
        /// Events per INSERT statement (one round trip, one transaction).
        public var batchSize: Int

        public init(connection: SecretReference, table: String = "spp_events", batchSize: Int = 500) {
            self.connection = connection
            self.table = table
            self.batchSize = batchSize
        }
    }

    public struct ForwardOptions: Sendable, Equatable {
        /// Stands for a URL given as a secret reference until it is resolved (`.invalid`
        /// is a reserved name: it can never be reached).
        public static let unresolvedURL = HTTPURL("https://unresolved-secret.invalid/")!  // a constant that parses

        public enum Body: String, Sendable, Equatable {
            /// The stored event line (`seq`, `id`, `category`, …, `payload`).
            case event
            /// SPP's original envelope without the token (the log's `payload`).
            case spp
        }

        /// Where to POST. With ``urlSecret`` set, a placeholder until the daemon resolves it.
        public var url: HTTPURL
        /// The URL as a secret (`env:`, `file:`, `credential:`): chat webhooks (Slack,
        /// Discord, Teams, …) carry their credential in the URL.
        public var urlSecret: SecretReference?
        public var headers: [String: String]
        public var timeoutSeconds: Double
        public var caFile: String?
        public var body: Body
        /// Standard Webhooks signing secret (`whsec_…`), as a reference (env:, file:, credential:).
        public var signingSecret: SecretReference?
        public var concurrency: Int
        /// A proxy of the sink's own (`http://proxy:3128`); nil: the environment's
        /// `https_proxy`/`http_proxy`/`no_proxy`; "": no proxy even when those are set.
        public var proxy: String?

        public init(
            url: HTTPURL, headers: [String: String] = [:], timeoutSeconds: Double = 10, caFile: String? = nil,
            body: Body = .event, signingSecret: SecretReference? = nil, concurrency: Int = 1, urlSecret: SecretReference? = nil,
            proxy: String? = nil
        ) {
            self.proxy = proxy
            self.url = url
            self.urlSecret = urlSecret
            self.headers = headers
            self.timeoutSeconds = timeoutSeconds
            self.caFile = caFile
            self.body = body
            self.signingSecret = signingSecret
            self.concurrency = concurrency
        }
    }

    public var name: String
    public var kind: Kind
    public var filter: SinkFilter
    public var retry: RetryPolicy
    /// A failing event holds the sink's cursor (true), or later events pass while it waits (false).
    public var ordered: Bool
    /// jq programs over the stored event: `where` selects (first output `true`), `transform`
    /// makes what the sink sends (its first output, compact JSON; text for an order message).
    public var programs: SinkPrograms

    public init(
        name: String, kind: Kind, filter: SinkFilter = SinkFilter(), retry: RetryPolicy = RetryPolicy(), ordered: Bool = true,
        programs: SinkPrograms = SinkPrograms()
    ) {
        self.name = name
        self.kind = kind
        self.filter = filter
        self.retry = retry
        self.ordered = ordered
        self.programs = programs
    }

    /// How many deliveries may run at once.
    public var concurrency: Int {
        switch kind {
        case .file: 1
        case .shell(_, _, let c): c
        case .forward(let f): f.concurrency
        case .orderMessage: 1
        case .postgres: 1
        }
    }
}

/// Which events a sink takes: by category and/or by event name (exact or `resource.*`).
/// Both given: an event must match both. Neither: every event.
public struct SinkFilter: Sendable, Equatable {
    public var categories: Set<EventCategory>?
    public var events: [String]?

    public init(categories: Set<EventCategory>? = nil, events: [String]? = nil) {
        self.categories = categories
        self.events = events
    }

    public func matches(category: EventCategory, event: String) -> Bool {
        if let categories, !categories.contains(category) { return false }
        if let events, !events.contains(where: { Self.glob($0, matches: event) }) { return false }
        return true
    }

    /// `order.*` matches `order.created` (not `order` or `orders.x`); otherwise exact, case-insensitive.
    static func glob(_ pattern: String, matches event: String) -> Bool {
        let p = pattern.lowercasedASCII(), e = event.lowercasedASCII()
        if p == "*" { return true }
        if p.hasSuffix(".*") { return e.hasPrefix(String(p.dropLast())) && e.count > p.count - 1 }
        return p == e
    }
}

/// Expands `{category}` and `{event}` in a file sink's path. Event names cannot reach
/// outside the directory: `/` and a leading `.` become `_`.
public enum PathTemplate {
    public static func expand(_ template: String, category: EventCategory, event: String) -> String {
        var safeEvent = String(event.map { $0 == "/" || $0 == "\\" ? "_" : $0 })
        if safeEvent.hasPrefix(".") { safeEvent = "_" + safeEvent.dropFirst() }
        return template.replacingAll("{category}", with: category.rawValue).replacingAll("{event}", with: safeEvent)
    }
}

extension String {
    public func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound]
            result += replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }
}
