// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("SPP envelope, form fallback and classification")
struct EnvelopeTests {
    static let sample = #"""
        {"event": "order.created", "created": 1558608668, "token": "tve5p0JOga4jncVs9bm7ZlAThXRxkyPN",
         "data": {"id": "666AF315", "date_added": "2010-12-30T15:00:00+0000", "date_completed": null, "status": "Pending"}}
        """#

    @Test func decodesTheDocumentedEnvelope() throws {
        let object = try WebhookEnvelope.parseBody(Array(Self.sample.utf8), contentType: "application/json")
        #expect(WebhookEnvelope.presentedToken(in: object) == "tve5p0JOga4jncVs9bm7ZlAThXRxkyPN")
        let envelope = try WebhookEnvelope(validating: object)
        #expect(envelope.event == "order.created")
        #expect(envelope.created == 1_558_608_668)
        #expect(envelope.payload.keys == ["event", "created", "data"])
        #expect(!JSONWriter.string(.object(envelope.payload)).contains("tve5p0"))
    }

    @Test(arguments: [
        ("application/json", true), ("application/json; charset=utf-8", true), (nil, true),
        ("application/x-www-form-urlencoded", true),  // mislabelled JSON (curl -d) is still JSON
        ("text/plain", true),
    ] as [(String?, Bool)])
    func jsonBodyWhateverTheLabel(_ contentType: String?, _ ok: Bool) throws {
        let object = try WebhookEnvelope.parseBody(Array(Self.sample.utf8), contentType: contentType)
        #expect((object["event"]?.stringValue == "order.created") == ok)
    }

    @Test func formFallbackWithPHPBrackets() throws {
        let body = "event=order.created&created=1558608668&token=abc&data%5Bid%5D=666AF315&data[client][id]=5"
            + "&data[client][email]=a%40b.c&data[tags][]=x&data[tags][]=y+z"
        let object = try WebhookEnvelope.parseBody(Array(body.utf8), contentType: "application/x-www-form-urlencoded")
        #expect(WebhookEnvelope.presentedToken(in: object) == "abc")
        let envelope = try WebhookEnvelope(validating: object)
        #expect(envelope.created == 1_558_608_668)
        #expect(JSONWriter.string(.object(envelope.payload))
            == #"{"event":"order.created","created":"1558608668","data":{"id":"666AF315","client":{"id":"5","email":"a@b.c"},"tags":["x","y z"]}}"#)
    }

    /// Errors say what is wrong and never echo the body (they reach the log before the
    /// token is checked).
    @Test(arguments: [
        ("a=2&a[b]=1", "both as an object and as a value"),
        ("a[b=1", "unbalanced brackets in a key"),
        ("a=%zz", "percent"),
        ("=1", "empty key"),
        ("a%0AFORGED%1B%5B2J[b=1", "unbalanced brackets in a key"),
        ("a[x]=1&a[]=2", "both as an object and as a list"),
        ("a[]=1&a[x]=2", "both as a list and as an object"),
    ])
    func badForms(_ body: String, _ fragment: String) {
        do {
            _ = try FormDecoder.decode(Array(body.utf8))
            Issue.record("accepted \(body)")
        } catch {
            let text = "\(error)"
            #expect(text.contains(fragment), "\(text)")
            #expect(!text.contains("FORGED") && !text.contains("\u{1B}") && !text.contains("\n"), "\(text)")
        }
    }

    @Test(arguments: [
        (#"{"token":"t"}"#, EnvelopeError.missingField("event")),
        (#"{"token":"t","event":5}"#, .wrongType("event", expected: "string")),
        (#"{"token":"t","event":""}"#, .invalidEventName),
        (#"{"token":"t","event":"has space"}"#, .invalidEventName),
        (#"{"token":"t","event":"a.b","created":"yesterday"}"#, .wrongType("created", expected: "integer Unix seconds")),
        (#"{"token":"t","event":"a.b","created":1.5}"#, .wrongType("created", expected: "integer Unix seconds")),
    ])
    func badEnvelopes(_ body: String, _ error: EnvelopeError) throws {
        let object = try WebhookEnvelope.parseBody(Array(body.utf8), contentType: "application/json")
        #expect(throws: error) { try WebhookEnvelope(validating: object) }
    }

    @Test func createdMayBeAbsent() throws {
        let object = try WebhookEnvelope.parseBody(Array(#"{"token":"t","event":"ticket.created","data":{}}"#.utf8), contentType: nil)
        #expect(try WebhookEnvelope(validating: object).created == nil)
    }

    @Test(arguments: [
        ("order.created", EventCategory.orders), ("order.status_changed", .orders), ("Order.Tagged", .orders),
        ("invoice.paid", .invoices), ("invoice.refunded", .invoices),
        ("subscription.canceled", .subscriptions), ("subscription.payment_failed", .subscriptions),
        ("ticket.created", .tickets), ("client.created", .accounts), ("account.deleted", .accounts),
        ("form.submitted", .forms), ("form_data.created", .forms),
        ("order_message.created", .messages), ("ticket_message.created", .messages), ("message.posted", .messages),
        ("coupon.created", .other), ("nodot", .other), ("", .other), ("ORDER.CREATED", .orders), ("a.b.order", .other),
        ("order.created.", .other), ("tické.created", .other), ("ticket.é", .tickets), (".", .other),
    ])
    func builtInClassification(_ event: String, _ category: EventCategory) {
        #expect(EventClassifier().classify(event) == category)
    }

    @Test(arguments: [("order.created", "order"), ("order_message.created", "order_message"), ("a.b.c", "a.b"), ("nodot", "nodot"),
        ("é.x", "é"), ("x.é", "x"), ("", ""), (".", ""), ("trailing.", "trailing")])
    func resourceIsThePartBeforeTheLastDot(_ name: String, _ resource: String) {
        #expect(EventClassifier.resource(of: name) == resource)
    }

    @Test(arguments: [("order.created", "order.created"), ("Order.Tagged", "order.tagged"), ("ÉTÉ.X", "ÉtÉ.x"), ("", ""),
        ("application/JSON; charset=UTF-8", "application/json; charset=utf-8")])
    func lowercasingTouchesOnlyASCIILetters(_ text: String, _ lowered: String) {
        #expect(text.lowercasedASCII() == lowered)
        #expect(text[...].lowercasedASCII() == lowered)
    }

    @Test func configOverridesWin() {
        let c = EventClassifier(overrides: ["order.message_added": .messages, "coupon.*": .invoices, "weird": .tickets])
        #expect(c.classify("order.message_added") == .messages)
        #expect(c.classify("order.created") == .orders)
        #expect(c.classify("coupon.redeemed") == .invoices)
        #expect(c.classify("weird") == .tickets)
    }

    @Test func tokenPolicy() {
        let p = TokenPolicy(tokens: ["old-token-0123456789", "new-token-0123456789"])
        #expect(p.accepts("old-token-0123456789"))
        #expect(p.accepts("new-token-0123456789"))
        #expect(!p.accepts("new-token-012345678"))
        #expect(!p.accepts("new-token-01234567890"))
        #expect(!p.accepts(""))
        #expect(!TokenPolicy(tokens: []).accepts(""))
    }
}
