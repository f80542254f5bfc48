// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX

/// A destination for events. `deliver` blocks until it knows the outcome of each event
/// (it runs on the sink's own threads, never on the intake path).
public protocol EventSink: Sendable {
    var name: String { get }
    /// Delivers `events` in order; returns one outcome per event.
    func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome]
    /// How many events one `deliver` call may take (file sinks batch; others take one).
    var batchSize: Int { get }
}

extension EventSink {
    public var batchSize: Int { 1 }
}
