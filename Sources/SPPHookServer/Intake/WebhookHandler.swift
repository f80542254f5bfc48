// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore
import Synchronization

/// The receive pipeline: route by path, authenticate the body token, validate the
/// envelope, classify, persist, and only then acknowledge.
public final class WebhookHandler: HTTPRequestHandler {
    public struct Endpoint: Sendable {
        public var name: String
        public var path: String
        public var tokens: TokenPolicy

        public init(name: String, path: String, tokens: TokenPolicy) {
            self.name = name
            self.path = path
            self.tokens = tokens
        }
    }

    /// What a reload replaces, atomically.
    private struct Routing: Sendable {
        var endpoints: [String: Endpoint]
        var classifier: EventClassifier
    }

    private let routing: Mutex<Routing>
    public let counters: Counters
    private let log: EventLog
    private let clock: any WallClock
    private let logger: Logger

    public init(
        endpoints: [Endpoint], classifier: EventClassifier, log: EventLog, counters: Counters = Counters(), clock: any WallClock,
        logger: Logger
    ) {
        self.counters = counters
        self.routing = Mutex(Routing(endpoints: Self.byPath(endpoints), classifier: classifier))
        self.log = log
        self.clock = clock
        self.logger = logger
    }

    private static let allow = [("Allow", "POST")]

    private static func byPath(_ endpoints: [Endpoint]) -> [String: Endpoint] {
        Dictionary(endpoints.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// Replaces endpoints, tokens and classification rules in one step (SIGHUP).
    public func update(endpoints: [Endpoint], classifier: EventClassifier) {
        routing.withLock { $0 = Routing(endpoints: Self.byPath(endpoints), classifier: classifier) }
    }

    public func precheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        if case .refused(let refusal) = route(head) { return refusal }
        return nil
    }

    private enum Route {
        case accepted(Endpoint, EventClassifier)
        case refused(HTTPResponse)
    }

    /// The endpoint (and the classifier of the same configuration) a request goes to, or
    /// its 404/405 refusal.
    private func route(_ head: HTTPRequestHead) -> Route {
        let (found, classifier) = routing.withLock { ($0.endpoints[head.path], $0.classifier) }
        guard let endpoint = found else { return .refused(.error(404, "no endpoint at this path")) }
        guard head.method == "POST" else { return .refused(.error(405, "only POST is accepted here", headers: Self.allow)) }
        return .accepted(endpoint, classifier)
    }

    public func handle(_ request: HTTPRequest, respond answer: @escaping @Sendable (HTTPResponse) -> Void) {
        let head = request.head
        let endpoint: Endpoint, classifier: EventClassifier
        switch route(head) {
        case .accepted(let e, let c): (endpoint, classifier) = (e, c)
        case .refused(let refusal):
            // A 405 reached an endpoint: received, and rejected; a 404 did not.
            if refusal.status == 405, let name = routing.withLock({ $0.endpoints[head.path]?.name }) {
                counters.record(.received, endpoint: name)
                counters.record(.rejected(reason: "method"), endpoint: name)
            }
            return answer(refusal)
        }
        let counters = self.counters
        let started = monotonicSeconds()
        let respond: @Sendable (HTTPResponse) -> Void = { response in
            counters.metrics.requestDuration(nanoseconds: Int64((monotonicSeconds() - started) * 1e9))
            answer(response)
        }
        counters.record(.received, endpoint: endpoint.name)
        switch accept(request, endpoint: endpoint.name, tokens: endpoint.tokens) {
        case .failure(let refusal): respond(refusal.response)
        case .success(let envelope): store(envelope, category: classifier.classify(envelope.event), endpoint: endpoint.name, respond: respond)
        }
    }

    /// Why a request was refused: its answer (the reason is counted already).
    struct Refusal: Error {
        var response: HTTPResponse
    }

    /// Checks the request in order (codings, body, token before anything else in the body,
    /// envelope), counting and logging a refusal by its reason.
    private func accept(_ request: HTTPRequest, endpoint name: String, tokens: TokenPolicy) -> Result<WebhookEnvelope, Refusal> {
        let head = request.head
        func refuse(_ reason: String, _ status: Int, _ message: String) -> Result<WebhookEnvelope, Refusal> {
            counters.record(.rejected(reason: reason), endpoint: name)
            return .failure(Refusal(response: .error(status, message)))
        }
        if !head.extraTransferCodings.isEmpty { return refuse("encoding", 415, "transfer codings other than chunked are not supported") }
        if let encoding = head.headers["content-encoding"], encoding.lowercased() != "identity" {
            return refuse("encoding", 415, "Content-Encoding is not supported")
        }
        let object: CanonicalObject
        do {
            object = try WebhookEnvelope.parseBody(request.body, contentType: head.headers["content-type"])
        } catch {
            logger.debug("rejected: malformed body", metadata: ["endpoint": "\(name)", "reason": "\(error)"])
            return refuse("body", 400, "\(error)")
        }
        // Authenticate before looking at anything else in the body.
        guard let token = WebhookEnvelope.presentedToken(in: object), tokens.accepts(token) else {
            logger.notice("rejected: missing or wrong token", metadata: ["endpoint": "\(name)"])
            return refuse("token", 401, "missing or invalid token")
        }
        do {
            return .success(try WebhookEnvelope(validating: object))
        } catch {
            logger.notice("rejected: bad envelope", metadata: ["endpoint": "\(name)", "reason": "\(error)"])
            return refuse("envelope", 400, "\(error)")
        }
    }

    /// Appends the event to the log and answers once it is durable (or refused).
    private func store(
        _ envelope: WebhookEnvelope, category: EventCategory, endpoint name: String, respond: @escaping @Sendable (HTTPResponse) -> Void
    ) {
        let counters = self.counters
        counters.record(.accepted(category: category, event: envelope.event), endpoint: name)
        let canonical = envelope.payloadJSON
        let id = Self.eventID(endpoint: name, payloadJSON: canonical)
        let receivedAt = clock.now()
        let tail = EventRecord.tail(
            id: id, receivedAt: receivedAt, endpoint: name, category: category, event: envelope.event,
            created: envelope.created, payloadJSON: canonical)
        let logger = self.logger
        let event = envelope.event
        log.append(id: id, category: category, receivedAt: receivedAt, tail: tail) { outcome in
            switch outcome {
            case .stored(let seq):
                counters.record(.stored(at: receivedAt), endpoint: name)
                respond(.json(200, .object(JSONObject([
                    .init(key: "ok", value: .bool(true)), .init(key: "seq", value: .number(String(seq))),
                    .init(key: "category", value: .string(category.rawValue)),
                ]))))
                // One journal entry per stored event (`journalctl SPP_EVENT=order.created`), after the answer.
                logger.info("stored", metadata: [
                    "seq": "\(seq)", "event": "\(event)", "category": "\(category.rawValue)", "endpoint": "\(name)",
                ])
            case .duplicate(let seq, let originalCategory):
                counters.record(.duplicate, endpoint: name)
                respond(.json(200, .object(JSONObject([
                    .init(key: "ok", value: .bool(true)), .init(key: "duplicate", value: .bool(true)),
                    .init(key: "seq", value: .number(String(seq))),
                    .init(key: "category", value: .string(originalCategory.rawValue)),
                ]))))
                logger.info("duplicate", metadata: ["seq": "\(seq)", "event": "\(event)", "endpoint": "\(name)"])
            case .unavailable(let why):
                counters.record(.failed, endpoint: name)
                logger.warning("not stored: event log unavailable", metadata: ["event": "\(event)", "error": "\(why)"])
                respond(.error(503, "event log unavailable; not stored", headers: [("Retry-After", "5")]))
            }
        }
    }

    /// An event's id: a hash of the endpoint's name and the event as received (canonical
    /// JSON, without the token). The same event gets the same id on every receiver.
    public static func eventID(endpoint: String, payloadJSON: [UInt8]) -> String {
        SHA256.hex(SHA256.hash(parts: Array(endpoint.utf8), [0x0A], payloadJSON).prefix(16))
    }
}
