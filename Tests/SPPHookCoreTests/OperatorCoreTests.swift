// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Samples, tail lines and status snapshots")
struct OperatorCoreTests {
    @Test func everySampleIsAValidEnvelopeOfItsCategory() throws {
        var categories = Set<EventCategory>()
        for sample in SampleEvents.all {
            let body = SampleEvents.envelope(sample, created: 1_795_450_870, token: "tok")
            let object = try WebhookEnvelope.parseBody(body, contentType: "application/json")
            #expect(WebhookEnvelope.presentedToken(in: object) == "tok")
            let envelope = try WebhookEnvelope(validating: object)
            #expect(envelope.event == sample.event)
            #expect(envelope.created == 1_795_450_870)
            let category = EventClassifier().classify(sample.event)
            #expect(category != .other, "\(sample.event) has a watch category")
            categories.insert(category)
        }
        #expect(categories == Set(EventCategory.allCases).subtracting([.other]))
        #expect(SampleEvents.all.filter(\.confirmed).map(\.event) == ["order.created", "invoice.paid", "subscription.canceled"])
        #expect(Set(SampleEvents.all.map(\.event)).count == SampleEvents.all.count)
    }

    static func record(_ event: String, _ category: EventCategory, data: String) throws -> [UInt8] {
        let payload = try #require(try JSONParser.parse(Array(#"{"event":"\#(event)","data":\#(data)}"#.utf8)).objectValue)
        return EventRecord(seq: 42, id: "abc", receivedAt: Timestamp(rfc3339: "2026-11-20T15:00:00.123Z")!, endpoint: "main",
            category: category, event: event, created: 1, payload: payload).line
    }

    @Test(arguments: [
        ("invoice.paid", EventCategory.invoices, #"{"id":"INV-1","status":"Paid","total":"499.00","currency":"USD","client":{"email":"j@x.y"}}"#,
         "2026-11-20 15:00:00     42  invoices      invoice.paid               invoice=INV-1 client=j@x.y status=Paid total=499.00 USD"),
        ("order.created", .orders, #"{"id":"666AF315","status":"In progress","price":"10","client":{"email":"j@x.y"}}"#,
         "2026-11-20 15:00:00     42  orders        order.created              order=666AF315 client=j@x.y status=\"In progress\""),
        ("order_message.created", .messages, #"{"id":"m1","order_id":"666AF315","message":"hi"}"#,
         "2026-11-20 15:00:00     42  messages      order_message.created      message=m1 order=666AF315"),
        ("client.created", .accounts, #"{"id":1042,"email":"j@x.y"}"#,
         "2026-11-20 15:00:00     42  accounts      client.created             client=1042 client=j@x.y"),
        ("widget.spun", .other, #"{"id":7}"#,
         "2026-11-20 15:00:00     42  other         widget.spun                widget=7"),
        ("ping", .other, #"[]"#,
         "2026-11-20 15:00:00     42  other         ping                       "),
    ])
    func tailLines(_ event: String, _ category: EventCategory, _ data: String, _ expected: String) throws {
        #expect(EventSummary.line(try Self.record(event, category, data: data), color: false) == expected)
    }

    @Test func colourOnlyWhenAsked() throws {
        let line = try Self.record("invoice.paid", .invoices, data: #"{"id":"INV-1"}"#)
        #expect(EventSummary.line(line, color: true).contains("\u{1B}[32minvoices"))
        #expect(!EventSummary.line(line, color: false).contains("\u{1B}"))
        #expect(EventSummary.line(Array("not a record".utf8), color: true) == "not a record")
    }

    @Test func statusSnapshotRoundTrips() throws {
        var endpoint = StatusSnapshot.Endpoint(name: "main")
        (endpoint.received, endpoint.stored, endpoint.duplicates, endpoint.rejected, endpoint.failed) = (9, 6, 1, 1, 1)
        endpoint.lastStoredAt = Timestamp(millisecondsSinceEpoch: 1_795_450_870_123)
        var sink = StatusSnapshot.Sink(name: "hook")
        (sink.cursorSeq, sink.delivered, sink.retried, sink.deadLettered, sink.retrying) = (5, 4, 3, 2, 1)
        (sink.failing, sink.nextRetryInSeconds, sink.lastError) = (true, 7, "exit 1: \"quoted\"")
        sink.lastErrorAt = Timestamp(millisecondsSinceEpoch: 1_795_450_871_000)
        let snapshot = StatusSnapshot(pid: 123, startedAt: Timestamp(millisecondsSinceEpoch: 1_795_450_000_000),
            updatedAt: Timestamp(millisecondsSinceEpoch: 1_795_450_999_000), listen: ["127.0.0.1:8080"], admin: nil, lastSeq: 9,
            endpoints: [endpoint], sinks: [sink, StatusSnapshot.Sink(name: "idle")])
        let text = JSONWriter.bytes(snapshot.json)
        #expect(StatusSnapshot(json: try JSONParser.parse(text)) == snapshot)
        #expect(StatusSnapshot(json: try JSONParser.parse(Array(#"{"pid":"x"}"#.utf8))) == nil)
    }
}
