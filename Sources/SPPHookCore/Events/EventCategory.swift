// SPDX-License-Identifier: MIT

/// The seven watch categories of SPP's integrations, plus `other` for event names we do
/// not know yet. `other` events are stored like any other: never dropped.
public enum EventCategory: String, Sendable, CaseIterable, Codable {
    case orders, forms, accounts, invoices, messages, subscriptions, tickets, other
}
