// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore

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

    private let endpoints: [String: Endpoint]
    private let classifier: EventClassifier
    private let log: EventLog
    private let clock: any WallClock
    private let logger: Logger

    public init(endpoints: [Endpoint], classifier: EventClassifier, log: EventLog, clock: any WallClock, logger: Logger) {
        self.endpoints = Dictionary(endpoints.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        self.classifier = classifier
        self.log = log
        self.clock = clock
        self.logger = logger
    }

    private static let allow = [("Allow", "POST")]

    public func precheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        guard endpoints[head.path] != nil else { return .error(404, "no endpoint at this path") }
        guard head.method == "POST" else { return .error(405, "only POST is accepted here", headers: Self.allow) }
        return nil
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let head = request.head
        guard let endpoint = endpoints[head.path] else { return respond(.error(404, "no endpoint at this path")) }
        guard head.method == "POST" else { return respond(.error(405, "only POST is accepted here", headers: Self.allow)) }
        if !head.extraTransferCodings.isEmpty {
            return respond(.error(415, "transfer codings other than chunked are not supported"))
        }
        if let encoding = head.headers["content-encoding"], encoding.lowercased() != "identity" {
            return respond(.error(415, "Content-Encoding is not supported"))
        }
        let object: JSONObject
        do {
            object = try WebhookEnvelope.parseBody(request.body, contentType: head.headers["content-type"])
        } catch {
            logger.debug("rejected: malformed body", metadata: ["endpoint": "\(endpoint.name)", "reason": "\(error)"])
            return respond(.error(400, "\(error)"))
        }
        // Authenticate before looking at anything else in the body.
        guard let token = WebhookEnvelope.presentedToken(in: object), endpoint.tokens.accepts(token) else {
            logger.notice("rejected: missing or wrong token", metadata: ["endpoint": "\(endpoint.name)"])
            return respond(.error(401, "missing or invalid token"))
        }
        let envelope: WebhookEnvelope
        do {
            envelope = try WebhookEnvelope(validating: object)
        } catch {
            logger.notice("rejected: bad envelope", metadata: ["endpoint": "\(endpoint.name)", "reason": "\(error)"])
            return respond(.error(400, "\(error)"))
        }
        let category = classifier.classify(envelope.event)
        let canonical = JSONWriter.bytes(.object(envelope.payload))
        let id = SHA256.hex(SHA256.hash(Array(endpoint.name.utf8) + [0x0A] + canonical).prefix(16))
        let receivedAt = clock.now()
        let tail = EventRecord.tail(
            id: id, receivedAt: receivedAt, endpoint: endpoint.name, category: category, event: envelope.event,
            created: envelope.created, payloadJSON: canonical)
        let logger = self.logger
        let event = envelope.event
        log.append(id: id, category: category, receivedAt: receivedAt, tail: tail) { outcome in
            switch outcome {
            case .stored(let seq):
                logger.debug("stored", metadata: ["seq": "\(seq)", "event": "\(event)", "category": "\(category.rawValue)"])
                respond(.json(200, .object(JSONObject([
                    .init(key: "ok", value: .bool(true)), .init(key: "seq", value: .number(String(seq))),
                    .init(key: "category", value: .string(category.rawValue)),
                ]))))
            case .duplicate(let seq, let originalCategory):
                logger.debug("duplicate", metadata: ["seq": "\(seq)", "event": "\(event)"])
                respond(.json(200, .object(JSONObject([
                    .init(key: "ok", value: .bool(true)), .init(key: "duplicate", value: .bool(true)),
                    .init(key: "seq", value: .number(String(seq))),
                    .init(key: "category", value: .string(originalCategory.rawValue)),
                ]))))
            case .unavailable(let why):
                logger.warning("not stored: event log unavailable", metadata: ["event": "\(event)", "error": "\(why)"])
                respond(.error(503, "event log unavailable; not stored", headers: [("Retry-After", "5")]))
            }
        }
    }
}
