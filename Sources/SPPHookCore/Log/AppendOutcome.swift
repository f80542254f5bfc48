// SPDX-License-Identifier: MIT

/// What an append to the event log came to, once known.
public enum AppendOutcome: Sendable, Equatable {
    /// The line is written and synced (the only answer that is acknowledged with a 2xx).
    case stored(seq: UInt64)
    /// A redelivery of an event stored within the dedup window.
    case duplicate(seq: UInt64, category: EventCategory)
    /// The log cannot take it now (answered 503).
    case unavailable(String)
}
