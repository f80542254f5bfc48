// SPDX-License-Identifier: MIT

/// Exponential back-off with full jitter: attempt n (1-based) waits a random time in
/// [0, min(maxSeconds, initialSeconds × 2^(n−1))], at least 10% of that bound.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialSeconds: Double
    public var maxSeconds: Double

    /// 8 attempts, 1 s doubling to at most 1 h: about 2 minutes of tries in expectation
    /// before a dead letter, longer when the receiver asks with Retry-After.
    public init(maxAttempts: Int = 8, initialSeconds: Double = 1, maxSeconds: Double = 3600) {
        self.maxAttempts = maxAttempts
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
    }

    /// The wait after failed attempt `attempt`, with `random` uniform in [0, 1).
    public func delay(afterAttempt attempt: Int, random: Double) -> Double {
        let exponent = min(max(attempt - 1, 0), 62)
        let bound = min(maxSeconds, initialSeconds * Double(1 << UInt64(min(exponent, 52))))
        return bound * (0.1 + 0.9 * random)
    }

    /// The longest Retry-After honoured: a receiver asking for more is tried again after a day.
    public static let maxRetryAfterSeconds = 86400.0

    /// What to do with an event whose attempt number `attempts` (1-based) came to `outcome`
    /// at `now`: the one rule of the runner and of `replay`. A retry waits the back-off or the
    /// receiver's Retry-After (at most a day), whichever is longer; an event out of attempts,
    /// or failed permanently, is dead-lettered.
    public func decide(_ outcome: DeliveryOutcome, attempts: Int, now: Double, random: Double) -> DeliveryDecision {
        switch outcome {
        case .delivered: return .delivered
        case .skipped: return .skipped
        case .permanent(let why): return .deadLetter(why)
        case .retry(let why, let after):
            guard attempts < maxAttempts else { return .deadLetter(why) }
            let wait = max(delay(afterAttempt: attempts, random: random), min(max(after ?? 0, 0), Self.maxRetryAfterSeconds))
            return .retry(at: now + wait, why)
        }
    }
}

/// The policy's answer for one attempt.
public enum DeliveryDecision: Sendable, Equatable {
    case delivered
    case skipped
    /// Try again at `at` (on the caller's monotonic clock).
    case retry(at: Double, String)
    case deadLetter(String)
}
