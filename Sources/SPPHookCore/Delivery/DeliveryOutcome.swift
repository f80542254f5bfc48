// SPDX-License-Identifier: MIT

/// What one delivery attempt came to.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Try again later (`after`: the receiver's Retry-After, in seconds).
    case retry(String, after: Double?)
    /// Never going to work (a 4xx): dead-letter at once.
    case permanent(String)
    /// Not for this sink: its `where` said no, or its `transform` produced nothing.
    case skipped
}
