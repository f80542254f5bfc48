// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
import SPPHookPOSIX

/// SPP's REST API over the project's HTTP/1.1 client: `Authorization: Bearer`, `Accept:
/// application/json`, optional `X-Api-Version`; 429 and 5xx (and network errors) are
/// retried with back-off, waiting at least `Retry-After`. Errors carry SPP's message and
/// its request id (`X-Api-Identifier`). The key never appears in errors or logs.
public final class SPPAPIClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        public var requestID: String? { headers["x-api-identifier"] }
        public var json: JSONValue? { body.isEmpty ? nil : try? JSONParser.parse(body) }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var status: Int?
        public var requestID: String?
        public var retryAfter: Double?

        public var description: String {
            (status.map { "HTTP \($0): " } ?? "") + message + (requestID.map { " (request \($0))" } ?? "")
        }
    }

    let config: APIConfig
    let key: String
    let timeout: Double
    let maxAttempts: Int
    let client: HTTPClient
    let logger: Logger

    public init(config: APIConfig, key: String, timeout: Double = 30, maxAttempts: Int = 4, logger: Logger) throws(Failure) {
        self.config = config
        self.key = key
        self.timeout = timeout
        self.maxAttempts = maxAttempts
        self.logger = logger
        client = HTTPClient(options: HTTPClient.Options(timeoutSeconds: timeout), maxIdle: 4)
    }

    /// One call. `path` is relative to the base URL (`/order_messages/666AF315`), or an
    /// absolute URL on the same host (a `links.next` from a list).
    public func request(
        _ method: HTTPMethod, _ path: String, query: [(String, String)] = [], headers: [(String, String)] = [], body: [UInt8]? = nil
    ) throws(Failure) -> Response {
        var url = config.baseURL
        if let absolute = HTTPURL(path) {
            guard absolute.host == config.baseURL.host, absolute.port == config.baseURL.port,
                absolute.secure == config.baseURL.secure
            else { throw Failure(message: "refusing to follow a link to another host: \(absolute.hostHeader)") }
            url = absolute
        } else {
            url.target = config.target(path, query: query)
        }
        var all = [("Authorization", "Bearer \(key)"), ("Accept", "application/json")]
        if let v = config.apiVersion { all.append(("X-Api-Version", v)) }
        all += headers
        if body != nil, !headers.contains(where: { $0.0.lowercased() == "content-type" }) { all.append(("Content-Type", "application/json")) }
        let call = HTTPClientRequest(method: method, url: url, headers: all, body: body)
        var attempt = 0
        while true {
            attempt += 1
            let result = Result { () throws(Failure) -> Response in try once(call) }
            let failure: Failure
            switch result {
            case .success(let r):
                // An answer that is not tried again is the caller's to read (a 4xx body says why).
                guard case .retry = DeliveryOutcome(httpStatus: r.status, retryAfter: nil, detail: "") else { return r }
                failure = Self.failure(r)
            case .failure(let f):
                failure = f
            }
            let outcome = DeliveryOutcome.retry("\(failure)", after: failure.retryAfter)
            // The one back-off rule (``RetryPolicy``); a caller waits at most two minutes a try.
            guard case .retry(let at, _) = retryPolicy.decide(outcome, attempts: attempt, now: 0, random: Double.random(in: 0..<1))
            else { throw failure }
            logger.warning("SPP API call failed; retrying", metadata: [
                "method": "\(method)", "error": "\(failure)", "retryInSeconds": "\(Int(at.rounded(.up)))",
            ])
            sleepSeconds(min(at, 120))
        }
    }

    /// Tries a failed call again up to `maxAttempts` times in all, 1 s doubling to at most 32 s.
    private var retryPolicy: RetryPolicy { RetryPolicy(maxAttempts: maxAttempts, initialSeconds: 1, maxSeconds: 32) }

    private func once(_ call: HTTPClientRequest) throws(Failure) -> Response {
        do {
            let r = try client.send(call)
            return Response(status: r.status, headers: r.headers, body: r.body)
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    /// A non-2xx response as an error: SPP's `message` (or `error`) when the body has one.
    public static func failure(_ r: Response) -> Failure {
        var message = String(decoding: r.body.prefix(300), as: UTF8.self)
        if case .object(let o)? = r.json {
            if let m = o["message"]?.stringValue { message = m } else if let m = o["error"]?.stringValue { message = m }
        }
        if message.isEmpty { message = HTTPResponse.reasonPhrase(r.status) }
        return Failure(message: message, status: r.status, requestID: r.requestID,
            retryAfter: r.headers["retry-after"].flatMap(DeliveryOutcome.retryAfterSeconds))
    }

    /// A list, following `links.next` until `limit` items (or the end); decodes both the
    /// `{data,links,meta}` envelope and a bare array.
    public func list(_ path: String, limit: Int, query: [(String, String)] = []) throws(Failure) -> [JSONValue] {
        var items: [JSONValue] = []
        var next: String? = path
        var q = query + [("limit", String(min(limit, 100)))]
        var pages = 0
        while let current = next, items.count < limit, pages < 1000 {
            let r = try request(.get, current, query: q)
            guard (200..<300).contains(r.status) else { throw Self.failure(r) }
            guard let json = r.json, let page = APIPage(json) else {
                throw Failure(message: "unexpected response: not a list", status: r.status, requestID: r.requestID)
            }
            items += page.items
            next = page.next
            q = []  // a next link carries its own query
            pages += 1
        }
        return Array(items.prefix(limit))
    }
}
