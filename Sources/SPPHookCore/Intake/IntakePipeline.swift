// SPDX-License-Identifier: MIT

/// The decisions of receiving a webhook, in order: route by path, check the method and
/// codings, parse the body, authenticate its token before reading anything else in it,
/// validate the envelope, classify. Pure: the server counts and logs what it decides and
/// persists what it accepts (`WebhookHandler`).
public struct IntakePipeline: Sendable {
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

    /// Why a request at an endpoint was refused; the raw value is the metrics label.
    public enum Reason: String, Sendable, CaseIterable {
        case method, encoding, body, token, envelope
    }

    /// A request an endpoint refused: received there, and rejected.
    public struct Refusal: Error, Sendable, Equatable {
        public var endpoint: String
        public var reason: Reason
        public var response: HTTPResponse
        /// What went wrong, for the daemon's log (never shown to the sender beyond `response`).
        public var detail: String?
    }

    /// An authenticated, valid event, ready to be stored.
    public struct Accepted: Sendable, Equatable {
        public var endpoint: String
        public var envelope: WebhookEnvelope
        public var category: EventCategory
    }

    public enum Decision: Sendable, Equatable {
        /// No endpoint at this path: nothing was received.
        case notFound(HTTPResponse)
        case refused(Refusal)
        case accepted(Accepted)
    }

    public let endpoints: [String: Endpoint]
    public let classifier: EventClassifier

    /// Endpoints by path; when two share a path, the first wins (the config decoder refuses that).
    public init(endpoints: [Endpoint], classifier: EventClassifier) {
        self.endpoints = Dictionary(endpoints.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.classifier = classifier
    }

    private static let allow = [("Allow", "POST")]

    /// The refusal a head alone earns (404, 405), before any body is read.
    public func precheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        switch route(head) {
        case .success: return nil
        case .failure(.notFound(let response)): return response
        case .failure(.refused(let refusal)): return refusal.response
        }
    }

    private enum Unrouted: Error {
        case notFound(HTTPResponse)
        case refused(Refusal)
    }

    private func route(_ head: HTTPRequestHead) -> Result<Endpoint, Unrouted> {
        guard let endpoint = endpoints[head.path] else { return .failure(.notFound(.error(404, "no endpoint at this path"))) }
        guard head.method == .post else {
            return .failure(.refused(Refusal(
                endpoint: endpoint.name, reason: .method, response: .error(405, "only POST is accepted here", headers: Self.allow))))
        }
        return .success(endpoint)
    }

    /// Decides a complete request.
    public func decide(_ request: HTTPRequest) -> Decision {
        let endpoint: Endpoint
        switch route(request.head) {
        case .success(let e): endpoint = e
        case .failure(.notFound(let response)): return .notFound(response)
        case .failure(.refused(let refusal)): return .refused(refusal)
        }
        switch Self.envelope(of: request, at: endpoint) {
        case .failure(let refusal):
            return .refused(refusal)
        case .success(let envelope):
            return .accepted(Accepted(endpoint: endpoint.name, envelope: envelope, category: classifier.classify(envelope.event)))
        }
    }

    /// Codings, then the body, then the token (before anything else in the body, so no
    /// error message tells an unauthenticated sender about it), then the envelope.
    private static func envelope(of request: HTTPRequest, at endpoint: Endpoint) -> Result<WebhookEnvelope, Refusal> {
        func refuse(_ reason: Reason, _ status: Int, _ message: String, detail: String? = nil) -> Result<WebhookEnvelope, Refusal> {
            .failure(Refusal(endpoint: endpoint.name, reason: reason, response: .error(status, message), detail: detail))
        }
        let head = request.head
        if !head.extraTransferCodings.isEmpty { return refuse(.encoding, 415, "transfer codings other than chunked are not supported") }
        if let encoding = head.headers["content-encoding"], encoding.lowercased() != "identity" {
            return refuse(.encoding, 415, "Content-Encoding is not supported")
        }
        let object: CanonicalObject
        do {
            object = try WebhookEnvelope.parseBody(request.body, contentType: head.headers["content-type"])
        } catch {
            return refuse(.body, 400, "\(error)", detail: "\(error)")
        }
        guard let token = WebhookEnvelope.presentedToken(in: object), endpoint.tokens.accepts(token) else {
            return refuse(.token, 401, "missing or invalid token")
        }
        do {
            return .success(try WebhookEnvelope(validating: object))
        } catch {
            return refuse(.envelope, 400, "\(error)", detail: "\(error)")
        }
    }
}
