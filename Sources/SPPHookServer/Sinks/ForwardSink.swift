// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX

/// POSTs each event to a URL through ``HTTPClient`` (keep-alive, HTTP/2 where offered, TLS
/// with certificate and host-name verification, proxies). 2xx is delivered; 429, 5xx and
/// network or protocol errors are retried (honouring Retry-After); any other status is
/// dead-lettered at once.
///
/// With a signing secret, requests are signed per Standard Webhooks: `webhook-id` (the
/// event id), `webhook-timestamp`, and `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">` keyed by the base64 secret after its `whsec_` prefix.
public final class ForwardSink: EventSink {
    public let name: String
    let options: SinkConfig.ForwardOptions
    let client: HTTPClient
    let signingKey: [UInt8]?
    let clock: any WallClock
    let logger: Logger

    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(name: String, options: SinkConfig.ForwardOptions, signingSecret: String?, clock: any WallClock, logger: Logger) throws(SetupError) {
        self.name = name
        self.options = options
        self.clock = clock
        self.logger = logger
        client = HTTPClient(options: HTTPClient.Options(timeoutSeconds: options.timeoutSeconds, caFile: options.caFile, proxy: options.proxy),
            maxIdle: max(options.concurrency, 2))
        if let signingSecret {
            guard let key = Self.decodeSecret(signingSecret) else {
                throw SetupError(description: "signingSecret must be \"whsec_\" followed by base64")
            }
            signingKey = key
        } else {
            signingKey = nil
        }
    }

    /// `whsec_<base64>` → key bytes.
    public static func decodeSecret(_ secret: String) -> [UInt8]? {
        let b64 = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
        guard let key = Base64.decode(b64), !key.isEmpty else { return nil }
        return key
    }

    /// `v1,<base64 signature>` over `id.timestamp.body`.
    public static func signature(key: [UInt8], id: String, timestamp: Int64, body: [UInt8]) -> String {
        let message = Array("\(id).\(timestamp).".utf8) + body
        return "v1," + Base64.encode(HMACSHA256.mac(key: key, message: message))
    }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        events.map(send)
    }

    func body(for event: LoggedEvent) -> [UInt8] {
        event.body ?? Self.body(ofLine: event.line, options.body)
    }

    /// The request body for a stored line without a transform (`try-sink` shows it too).
    public static func body(ofLine line: [UInt8], _ kind: SinkConfig.ForwardOptions.Body) -> [UInt8] {
        switch kind {
        case .event:
            return line
        case .spp:
            guard let record = EventRecord(line: line) else { return line }
            return JSONWriter.bytes(.object(record.payload))
        }
    }

    func request(for event: LoggedEvent, body: [UInt8]) -> HTTPClientRequest {
        var headers = [("X-SPP-Event", event.head.event), ("X-SPP-Seq", "\(event.seq)")]
        if let signingKey {
            let timestamp = clock.now().millisecondsSinceEpoch / 1000
            headers += [("webhook-id", event.head.id), ("webhook-timestamp", "\(timestamp)"),
                ("webhook-signature", Self.signature(key: signingKey, id: event.head.id, timestamp: timestamp, body: body))]
        }
        headers += options.headers.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }
        return .postJSON(options.url, body: body, headers: headers)
    }

    func send(_ event: LoggedEvent) -> DeliveryOutcome {
        let response: HTTPClient.Response
        do {
            response = try client.send(request(for: event, body: body(for: event)))
        } catch {
            return .retry("\(error)", after: nil)
        }
        let snippet = String(decoding: response.body.prefix(200), as: UTF8.self)
        return DeliveryOutcome(httpStatus: response.status, retryAfter: response.headers["retry-after"],
            detail: "HTTP \(response.status) \(snippet)")
    }
}
