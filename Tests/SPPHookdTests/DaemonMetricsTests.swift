// SPDX-License-Identifier: MIT
import SPPHookCore
import SPPHookPOSIX
@testable import SPPHookServer
import Testing

/// The counters each stored event touches are found through a cache of their label
/// values; what `/metrics` shows must be what the series lookup alone would count,
/// including event names past the label limit and keys past the cache's bound.
@Suite("Daemon metrics")
struct DaemonMetricsTests {
    static func value(_ exposition: [UInt8], _ series: String) -> Double? {
        for line in String(decoding: exposition, as: UTF8.self).split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    @Test func receivedAndStoredCountPerSeriesThroughTheCache() {
        let metrics = DaemonMetrics(maxEventLabels: 2)
        let events = ["a.created", "b.paid", "a.created", "c.gone", "d.gone", "c.gone", "a.created"]
        for event in events {
            metrics.received(endpoint: "main", category: .other, event: event)
            metrics.stored(endpoint: "main")
        }
        metrics.received(endpoint: "side", category: .orders, event: "a.created")
        let text = metrics.exposition()
        let received = #"spp_hookd_events_received_total{endpoint="main",category="other",event=""#
        #expect(Self.value(text, received + #"a.created"}"#) == 3)
        #expect(Self.value(text, received + #"b.paid"}"#) == 1)
        #expect(Self.value(text, received + #"(other)"}"#) == 3)  // c.gone twice, d.gone: past the two labels
        #expect(Self.value(text, #"spp_hookd_events_received_total{endpoint="side",category="orders",event="a.created"}"#) == 1)
        #expect(Self.value(text, #"spp_hookd_events_stored_total{endpoint="main"}"#) == 7)
    }

    @Test func keysPastTheCacheBoundStillCount() {
        let metrics = DaemonMetrics(maxEventLabels: 10)
        let names = (0..<(DaemonMetrics.hotCacheLimit + 5)).map { "e\($0).x" }
        for name in names + names.suffix(3) { metrics.received(endpoint: "main", category: .other, event: name) }
        let text = metrics.exposition()
        let received = #"spp_hookd_events_received_total{endpoint="main",category="other",event=""#
        #expect(Self.value(text, received + #"e0.x"}"#) == 1)
        #expect(Self.value(text, received + #"(other)"}"#) == Double(names.count - 10 + 3))
    }
}
