// SPDX-License-Identifier: MIT
public import CoreMetrics
public import Prometheus
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// The daemon's metrics, recorded through swift-metrics into a Prometheus registry of its
/// own (not the process-global `MetricsSystem`, so tests can run several daemons), and
/// exposed by ``AdminHandler`` at `/metrics`.
///
/// Label values come from the configuration (endpoint, sink) or from authenticated events
/// (category, event name). Event names are an open set: after `maxEventLabels` distinct
/// names, further ones are counted as `event="(other)"` so the series count stays bounded.
public final class DaemonMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[Series: CoreMetrics.Counter]>([:])
    private let meters = Mutex<[Series: Meter]>([:])
    private let eventNames = Mutex<Set<String>>([])
    private let latency: CoreMetrics.Timer
    let maxEventLabels: Int

    public static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5),
    ]

    public init(maxEventLabels: Int = 256) {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["spp_hookd_request_duration_seconds": Self.latencyBuckets]
        self.factory = factory
        self.maxEventLabels = maxEventLabels
        latency = CoreMetrics.Timer(label: "spp_hookd_request_duration_seconds", dimensions: [], factory: factory)
    }

    /// A series: a metric name and its label values (each name always has the same labels).
    private struct Series: Hashable {
        let name: String
        let values: [String]
        init(_ name: String, _ labels: [(String, String)]) {
            self.name = name
            values = labels.map(\.1)
        }
    }

    /// The metric object of a series, made on first use.
    private static func cached<M>(
        _ cache: borrowing Mutex<[Series: M]>, _ name: String, _ labels: [(String, String)], make: () -> M
    ) -> M {
        let key = Series(name, labels)
        return cache.withLock { c in
            if let existing = c[key] { return existing }
            let made = make()
            c[key] = made
            return made
        }
    }

    private func counter(_ name: String, _ labels: [(String, String)]) -> CoreMetrics.Counter {
        Self.cached(counters, name, labels) { CoreMetrics.Counter(label: name, dimensions: labels, factory: factory) }
    }

    private func meter(_ name: String, _ labels: [(String, String)] = []) -> Meter {
        Self.cached(meters, name, labels) { Meter(label: name, dimensions: labels, factory: factory) }
    }

    private func eventLabel(_ event: String) -> String {
        eventNames.withLock { names in
            if names.contains(event) { return event }
            guard names.count < maxEventLabels else { return "(other)" }
            names.insert(event)
            return event
        }
    }

    /// The counters every stored event touches, found by their label values with one
    /// hash instead of building the series' labels each time. Bounded: past
    /// `hotCacheLimit` keys (event names are an open set) the series lookup is used.
    private struct ReceivedKey: Hashable, Sendable {
        let endpoint: String
        let category: EventCategory
        let event: String
    }
    private let receivedCounters = Mutex<[ReceivedKey: CoreMetrics.Counter]>([:])
    private let storedCounters = Mutex<[String: CoreMetrics.Counter]>([:])
    static let hotCacheLimit = 4096

    private static func hot<K: Hashable & Sendable>(
        _ cache: borrowing Mutex<[K: CoreMetrics.Counter]>, _ key: K, make: () -> CoreMetrics.Counter
    ) -> CoreMetrics.Counter {
        if let known = cache.withLock({ $0[key] }) { return known }
        let made = make()
        cache.withLock { if $0.count < hotCacheLimit { $0[key] = made } }
        return made
    }

    /// A request that reached an endpoint and was authenticated (its event name is known).
    func received(endpoint: String, category: EventCategory, event: String) {
        Self.hot(receivedCounters, ReceivedKey(endpoint: endpoint, category: category, event: event)) {
            counter("spp_hookd_events_received_total",
                [("endpoint", endpoint), ("category", category.rawValue), ("event", eventLabel(event))])
        }.increment()
    }

    /// A request refused before it could be stored.
    func rejected(endpoint: String, reason: String) {
        counter("spp_hookd_requests_rejected_total", [("endpoint", endpoint), ("reason", reason)]).increment()
    }

    func stored(endpoint: String) {
        Self.hot(storedCounters, endpoint) { counter("spp_hookd_events_stored_total", [("endpoint", endpoint)]) }.increment()
    }
    func duplicate(endpoint: String) { counter("spp_hookd_events_duplicate_total", [("endpoint", endpoint)]).increment() }
    func unavailable(endpoint: String) { counter("spp_hookd_events_not_stored_total", [("endpoint", endpoint)]).increment() }

    /// Time from a complete request to its answer.
    func requestDuration(nanoseconds: Int64) { latency.recordNanoseconds(nanoseconds) }

    func delivered(sink: String, count: Int = 1) {
        counter("spp_hookd_sink_delivered_total", [("sink", sink)]).increment(by: count)
    }
    /// Passed over by the sink's `where` (or an empty `transform`).
    func skipped(sink: String) { counter("spp_hookd_sink_skipped_total", [("sink", sink)]).increment() }
    func retried(sink: String) { counter("spp_hookd_sink_retried_total", [("sink", sink)]).increment() }
    /// Gave up on an event (dead-lettered).
    func failed(sink: String) { counter("spp_hookd_sink_failed_total", [("sink", sink)]).increment() }

    /// Values read at scrape time.
    func setGauges(openConnections: Int, logBytes: Int64, lastSeq: UInt64, sinkLag: [(sink: String, events: UInt64)]) {
        meter("spp_hookd_open_connections").set(openConnections)
        meter("spp_hookd_log_bytes").set(Double(logBytes))
        meter("spp_hookd_last_seq").set(Double(lastSeq))
        for (sink, events) in sinkLag { meter("spp_hookd_sink_lag_events", [("sink", sink)]).set(Double(events)) }
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }
}
