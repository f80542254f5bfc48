// SPDX-License-Identifier: MIT

/// One readable, aligned line for an event-log line, as `spp-hookd tail` prints it on a
/// terminal: time, seq, category, event, then the fields an operator looks for first
/// (order or invoice id, client email, status, total).
///
/// `2026-11-20 15:00:00    17  invoices      invoice.paid              invoice=INV-1 client=jane@acme.example status=Paid total=499.00 USD`
public enum EventSummary {
    public static func line(_ bytes: some Collection<UInt8>, color: Bool) -> String {
        guard let record = EventRecord(line: bytes) else {
            return DisplayText.sanitized(String(decoding: bytes, as: UTF8.self))  // not a record: show it, defused
        }
        let time = String(record.receivedAt.rfc3339.prefix(19)).replacingT()
        let seq = String(record.seq)
        let seqColumn = String(repeating: " ", count: max(0, 6 - seq.count)) + seq
        let category = record.category.rawValue.padded(13)
        let event = record.event.padded(26)
        let fields = DisplayText.sanitized(keyFields(record).map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        guard color else { return "\(time) \(seqColumn)  \(category) \(event) \(fields)" }
        let paint = "\u{1B}[\(colorCode(record.category))m"
        let dim = "\u{1B}[2m", reset = "\u{1B}[0m"
        return "\(dim)\(time)\(reset) \(seqColumn)  \(paint)\(category)\(reset) \(event) \(fields)"
    }

    /// The fields worth a glance, in a fixed order, from the event's `data`.
    public static func keyFields(_ record: EventRecord) -> [(String, String)] {
        guard case .object(let data)? = record.payload["data"] else { return [] }
        var out: [(String, String)] = []
        func text(_ v: JSONValue?) -> String? {
            switch v {
            case .string(let s)?: s.isEmpty ? nil : s
            case .number(let n)?: n
            default: nil
            }
        }
        let resource = EventClassifier.resource(of: record.event.lowercasedASCII())
        let idName: String
        switch record.category {
        case .orders: idName = "order"
        case .invoices: idName = "invoice"
        case .subscriptions: idName = "subscription"
        case .tickets: idName = "ticket"
        case .accounts: idName = "client"
        case .forms: idName = "form"
        case .messages: idName = "message"
        case .other: idName = resource.isEmpty ? "id" : resource
        }
        if let id = text(data["id"]) { out.append((idName, id)) }
        if record.category != .orders, let order = text(data["order_id"]) { out.append(("order", order)) }
        if let ticket = text(data["ticket_id"]) { out.append(("ticket", ticket)) }
        if let email = text(data["client"]?["email"]) ?? (record.category == .accounts ? text(data["email"]) : nil) {
            out.append(("client", email))
        }
        if let status = text(data["status"]) { out.append(("status", quoteIfNeeded(status))) }
        if let total = text(data["total"]) ?? (record.category == .orders ? nil : text(data["price"])) {
            out.append(("total", [total, text(data["currency"])].compactMap { $0 }.joined(separator: " ")))
        }
        return out
    }

    static func quoteIfNeeded(_ s: String) -> String {
        s.contains(" ") ? "\"\(s)\"" : s
    }

    static func colorCode(_ c: EventCategory) -> String {
        switch c {
        case .orders: "36"  // cyan
        case .invoices: "32"  // green
        case .subscriptions: "35"  // magenta
        case .tickets: "33"  // yellow
        case .accounts: "34"  // blue
        case .forms: "96"  // bright cyan
        case .messages: "93"  // bright yellow
        case .other: "90"  // grey
        }
    }
}

extension String {
    /// Pads with spaces to `width` characters (never truncates).
    public func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    fileprivate func replacingT() -> String {
        String(map { $0 == "T" ? " " : $0 })
    }
}
