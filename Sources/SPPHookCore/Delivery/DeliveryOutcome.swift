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

extension DeliveryOutcome {
    /// What an HTTP answer means for a delivery: the one rule of every sink that speaks HTTP
    /// and of the SPP API client. 2xx is delivered; 408, 429 and 5xx are tried again (not
    /// before the receiver's `Retry-After`, when it sent one); any other status never will
    /// work and is dead-lettered at once. `detail` says what happened, for the log and the
    /// dead letter.
    public init(httpStatus: Int, retryAfter: String?, detail: String) {
        switch httpStatus {
        case 200..<300: self = .delivered
        case 408, 429, 500..<600: self = .retry(detail, after: retryAfter.flatMap(Self.retryAfterSeconds))
        default: self = .permanent(detail)
        }
    }

    /// `Retry-After` in seconds: the delay-seconds form, never negative (an HTTP-date is not
    /// read: nil, and the back-off alone decides).
    public static func retryAfterSeconds(_ value: String) -> Double? {
        Double(value.trimmingOWS()).map { max(0, $0) }
    }
}
