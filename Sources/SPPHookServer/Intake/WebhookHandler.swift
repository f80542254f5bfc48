// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore
public import SPPHookPOSIX
import Synchronization

/// The receive path's I/O half: it asks ``IntakePipeline`` what to do with a request
/// (route, authenticate, validate, classify), counts and logs the decision, persists an
/// accepted event, and only then acknowledges.
public final class WebhookHandler: HTTPRequestHandler {
    public typealias Endpoint = IntakePipeline.Endpoint

    /// Endpoints, tokens and classification rules: a reload replaces them atomically.
    private let pipeline: Mutex<IntakePipeline>
    public let counters: Counters
    private let log: EventLog
    private let clock: any WallClock
    private let logger: Logger

    public init(
        endpoints: [Endpoint], classifier: EventClassifier, log: EventLog, counters: Counters = Counters(), clock: any WallClock,
        logger: Logger
    ) {
        self.counters = counters
        self.pipeline = Mutex(IntakePipeline(endpoints: endpoints, classifier: classifier))
        self.log = log
        self.clock = clock
        self.logger = logger
    }

    /// Replaces endpoints, tokens and classification rules in one step (SIGHUP).
    public func update(endpoints: [Endpoint], classifier: EventClassifier) {
        let replacement = IntakePipeline(endpoints: endpoints, classifier: classifier)
        pipeline.withLock { $0 = replacement }
    }

    public func precheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        pipeline.withLock { $0 }.precheck(head)
    }

    public func handle(_ request: HTTPRequest, respond answer: @escaping @Sendable (HTTPResponse) -> Void) {
        let started = monotonicSeconds()
        let counters = self.counters
        // Answers a request that reached the endpoint's checks, into the latency histogram.
        let timed: @Sendable (HTTPResponse) -> Void = { response in
            counters.metrics.requestDuration(nanoseconds: Int64((monotonicSeconds() - started) * 1e9))
            answer(response)
        }
        switch pipeline.withLock({ $0 }).decide(request) {
        case .notFound(let response):
            answer(response)
        case .refused(let refusal):
            counters.record(.received, endpoint: refusal.endpoint)
            counters.record(.rejected(reason: refusal.reason.rawValue), endpoint: refusal.endpoint)
            logRefusal(refusal)
            (refusal.reason == .method ? answer : timed)(refusal.response)
        case .accepted(let accepted):
            counters.record(.received, endpoint: accepted.endpoint)
            store(accepted, respond: timed)
        }
    }

    private func logRefusal(_ refusal: IntakePipeline.Refusal) {
        let endpoint: Logger.MetadataValue = "\(refusal.endpoint)"
        switch refusal.reason {
        case .method, .encoding: break
        case .body: logger.debug("rejected: malformed body", metadata: ["endpoint": endpoint, "reason": "\(refusal.detail ?? "")"])
        case .token: logger.notice("rejected: missing or wrong token", metadata: ["endpoint": endpoint])
        case .envelope: logger.notice("rejected: bad envelope", metadata: ["endpoint": endpoint, "reason": "\(refusal.detail ?? "")"])
        }
    }

    /// Appends the event to the log and answers once it is durable (or refused).
    private func store(_ accepted: IntakePipeline.Accepted, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        let (envelope, category, name) = (accepted.envelope, accepted.category, accepted.endpoint)
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
        // On an intake loop (always, but for tests), the loop writes the batch its round
        // started once it has read the round's requests.
        log.append(id: id, category: category, receivedAt: receivedAt, tail: tail, writeAt: EventLoop.current) { outcome in
            switch outcome {
            case .stored(let seq):
                counters.record(.stored(at: receivedAt), endpoint: name)
                respond(IntakeAnswer.stored(seq: seq, category: category))
                // One journal entry per stored event (`journalctl SPP_EVENT=order.created`), after the answer.
                logger.info("stored", metadata: [
                    "seq": "\(seq)", "event": "\(event)", "category": "\(category.rawValue)", "endpoint": "\(name)",
                ])
            case .duplicate(let seq, let originalCategory):
                counters.record(.duplicate, endpoint: name)
                respond(IntakeAnswer.duplicate(seq: seq, category: originalCategory))
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
