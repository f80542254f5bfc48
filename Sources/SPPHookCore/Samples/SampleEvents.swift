// SPDX-License-Identifier: MIT

/// Realistic `data` objects for the events of the seven watch categories, for
/// `spp-hookd send-test` (what SPP's *Test webhook* button does) and for tests.
///
/// Field names follow what SPP sends for orders (`../shared/spp-reference.md`); for the
/// other resources they follow SPP's API objects. Only `order.created`, `invoice.paid` and
/// `subscription.canceled` are confirmed event names; the rest are our best reading of
/// SPP's event list, and a real SPP may name them differently.
public enum SampleEvents {
    public struct Sample: Sendable {
        public var event: String
        public var confirmed: Bool
        /// The `data` object, as JSON text.
        public var data: String
    }

    static let client = #"{"id":1042,"email":"jane@acme.example","name_f":"Jane","name_l":"Doe","company":"Acme Ltd"}"#
    static func order(status: String, extra: String = "") -> String {
        #"{"id":"666AF315","date_added":"2026-11-20T15:00:00+0000","date_due":"2026-11-27T15:00:00+0000","date_completed":null,"#
            + #""status":"\#(status)","service":"Website care plan","price":"499.00","currency":"USD","client":\#(client),"#
            + #""employees":[{"id":7,"name_f":"Sam","name_l":"Lee"}],"tags":["priority"],"note":"","#
            + #""form_data":{"Website URL":"https://acme.example","Pages":"12"},"options":{"Rush delivery":"Yes"}\#(extra)}"#
    }
    static func invoice(status: String, extra: String = "") -> String {
        #"{"id":"INV-2026-0117","number":"2026-0117","status":"\#(status)","date_added":"2026-11-20T15:00:00+0000","#
            + #""date_due":"2026-11-27T15:00:00+0000","currency":"USD","subtotal":"499.00","tax":"0.00","total":"499.00","#
            + #""client":\#(client),"items":[{"name":"Website care plan","quantity":1,"price":"499.00","order_id":"666AF315"}]\#(extra)}"#
    }
    static func subscription(status: String, extra: String = "") -> String {
        #"{"id":"SUB-55A1","status":"\#(status)","service":"Website care plan","price":"499.00","currency":"USD","#
            + #""interval":"month","next_payment":"2026-12-20T15:00:00+0000","client":\#(client)\#(extra)}"#
    }

    public static let all: [Sample] = [
        Sample(event: "order.created", confirmed: true, data: order(status: "Pending")),
        Sample(event: "order.updated", confirmed: false, data: order(status: "Pending")),
        Sample(event: "order.status_changed", confirmed: false, data: order(status: "In progress", extra: #","old_status":"Pending""#)),
        Sample(event: "order.tagged", confirmed: false, data: order(status: "Pending", extra: #","added_tags":["priority"]"#)),
        Sample(event: "order.untagged", confirmed: false, data: order(status: "Pending", extra: #","removed_tags":["rush"]"#)),
        Sample(event: "order.deleted", confirmed: false, data: order(status: "Canceled")),
        Sample(event: "form.submitted", confirmed: false, data: #"{"id":311,"form":"Website brief","order_id":"666AF315","client":\#(client),"form_data":{"Website URL":"https://acme.example","Brand colours":"Blue, white"},"date_added":"2026-11-20T15:02:11+0000"}"#),
        Sample(event: "client.created", confirmed: false, data: #"{"id":1042,"email":"jane@acme.example","name_f":"Jane","name_l":"Doe","company":"Acme Ltd","role":"Client","date_added":"2026-11-20T14:58:00+0000"}"#),
        Sample(event: "client.deleted", confirmed: false, data: #"{"id":1042,"email":"jane@acme.example","name_f":"Jane","name_l":"Doe","company":"Acme Ltd"}"#),
        Sample(event: "invoice.created", confirmed: false, data: invoice(status: "Unpaid")),
        Sample(event: "invoice.paid", confirmed: true, data: invoice(status: "Paid", extra: #","date_paid":"2026-11-20T15:05:00+0000","payment_method":"stripe""#)),
        Sample(event: "invoice.refunded", confirmed: false, data: invoice(status: "Refunded", extra: #","refunded":"499.00""#)),
        Sample(event: "invoice.deleted", confirmed: false, data: invoice(status: "Unpaid")),
        Sample(event: "order_message.created", confirmed: false, data: #"{"id":"msg_8812","order_id":"666AF315","message":"Here is the first draft.","staff_only":false,"user":{"id":7,"name_f":"Sam","name_l":"Lee"},"date_added":"2026-11-20T16:00:00+0000"}"#),
        Sample(event: "ticket_message.created", confirmed: false, data: #"{"id":"msg_9120","ticket_id":"T-3310","message":"Could you check the contact form?","user":\#(client),"date_added":"2026-11-20T16:10:00+0000"}"#),
        Sample(event: "subscription.paid", confirmed: false, data: subscription(status: "Active", extra: #","invoice_id":"INV-2026-0118""#)),
        Sample(event: "subscription.failed", confirmed: false, data: subscription(status: "Past due", extra: #","error":"card_declined""#)),
        Sample(event: "subscription.canceled", confirmed: true, data: subscription(status: "Canceled", extra: #","date_canceled":"2026-11-20T17:00:00+0000""#)),
        Sample(event: "ticket.created", confirmed: false, data: #"{"id":"T-3310","subject":"Contact form not sending","status":"Open","client":\#(client),"order_id":"666AF315","date_added":"2026-11-20T16:08:00+0000"}"#),
    ]

    public static func sample(for event: String) -> Sample? {
        all.first { $0.event == event }
    }

    /// The envelope SPP would POST: `{"event","created","token","data"}`.
    public static func envelope(_ sample: Sample, created: Int64, token: String) -> [UInt8] {
        var out = Array(#"{"event":"#.utf8)
        JSONWriter.writeString(sample.event, into: &out)
        out += Array(#","created":\#(created),"token":"#.utf8)
        JSONWriter.writeString(token, into: &out)
        out += Array(#","data":"#.utf8) + Array(sample.data.utf8) + [UInt8(ascii: "}")]
        return out
    }
}
