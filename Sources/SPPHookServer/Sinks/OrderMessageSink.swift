// SPDX-License-Identifier: MIT
import Logging
public import SPPHookCore
import SPPHookPOSIX

/// Posts a templated message to the event's order through SPP's API
/// (`POST /order_messages/{data.id}` with `message`, `staff_only`, `user_id`), e.g. "Thanks
/// {data.client.name_f}, we received your form". Retries and dead letters as any sink:
/// 429/5xx/network errors retry, other statuses (404: no such order) are dead-lettered.
public struct OrderMessageSink: EventSink {
    public let name: String
    let client: SPPAPIClient
    /// nil: the sink's transform makes each message's text.
    let template: String?
    let staffOnly: Bool
    let userID: Int?

    public init(name: String, client: SPPAPIClient, template: String?, staffOnly: Bool, userID: Int?) {
        self.name = name
        self.client = client
        self.template = template
        self.staffOnly = staffOnly
        self.userID = userID
    }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        events.map(post)
    }

    /// The request body for an event, or nil when the event names no order (`data.id`).
    /// `text`: the message a transform made (else the template's rendering).
    public func body(for payload: JSONObject, text: String? = nil) -> (order: String, body: [UInt8])? {
        let order: String
        switch payload["data"]?["id"] {
        case .string(let s)? where !s.isEmpty: order = s
        case .number(let n)?: order = n
        default: return nil
        }
        var fields: [JSONObject.Member] = [
            .init(key: "message", value: .string(text ?? MessageTemplate.render(template ?? "", payload: payload))),
            .init(key: "staff_only", value: .bool(staffOnly)),
        ]
        if let userID { fields.append(.init(key: "user_id", value: .number(String(userID)))) }
        return (order, JSONWriter.bytes(.object(JSONObject(fields))))
    }

    func post(_ event: LoggedEvent) -> DeliveryOutcome {
        guard let record = EventRecord(line: event.line) else { return .permanent("unreadable event line") }
        let text = event.body.map { String(decoding: $0, as: UTF8.self) }
        guard let (order, body) = body(for: record.payload, text: text) else { return .permanent("the event has no data.id (order)") }
        do {
            let r = try client.request(.post, "/order_messages/\(percentEncode(order))", body: body)
            if (200..<300).contains(r.status) { return .delivered }
            return DeliveryOutcome(httpStatus: r.status, retryAfter: r.headers["retry-after"], detail: "\(SPPAPIClient.failure(r))")
        } catch {
            return .retry("\(error)", after: error.retryAfter)
        }
    }
}
