// SPDX-License-Identifier: MIT

/// Maps an event name (`resource.action`) to its ``EventCategory``.
///
/// Lookup order: an exact name from configuration, then a configured `resource.*` prefix,
/// then the built-in resource table, then `other`. SPP's event names are an open set; only
/// `order.created`, `invoice.paid` and `subscription.canceled` are confirmed, so the
/// built-in table works on the resource prefix and configuration can correct it.
public struct EventClassifier: Sendable, Equatable {
    /// Resource prefix → category, from the seven watch categories of SPP's integrations.
    public static let builtInResources: [String: EventCategory] = [
        "order": .orders, "orders": .orders,
        "invoice": .invoices, "invoices": .invoices,
        "subscription": .subscriptions, "subscriptions": .subscriptions,
        "ticket": .tickets, "tickets": .tickets,
        "client": .accounts, "clients": .accounts, "account": .accounts, "accounts": .accounts,
        "user": .accounts,
        "form": .forms, "forms": .forms, "form_data": .forms, "order_form": .forms,
        "message": .messages, "messages": .messages, "order_message": .messages,
        "ticket_message": .messages,
    ]

    public private(set) var exact: [String: EventCategory]
    public private(set) var prefixes: [String: EventCategory]

    /// - Parameter overrides: event name → category; a key `resource.*` maps a whole resource.
    public init(overrides: [String: EventCategory] = [:]) {
        var exact: [String: EventCategory] = [:]
        var prefixes: [String: EventCategory] = [:]
        for (key, category) in overrides {
            let k = key.lowercasedASCII()
            if k.hasSuffix(".*") {
                prefixes[String(k.dropLast(2))] = category
            } else {
                exact[k] = category
            }
        }
        self.exact = exact
        self.prefixes = prefixes
    }

    public func classify(_ event: String) -> EventCategory {
        let name = event.lowercasedASCII()
        if let c = exact[name] { return c }
        let resource = Self.resource(of: name)
        if let c = prefixes[resource] { return c }
        if let c = Self.builtInResources[resource] { return c }
        return .other
    }

    /// The part before the last dot (`order_message.created` → `order_message`), or the
    /// whole name when it has no dot.
    public static func resource(of name: String) -> String {
        guard let dot = name.utf8.lastIndex(of: UInt8(ascii: ".")) else { return name }
        return String(name[..<dot])
    }
}
