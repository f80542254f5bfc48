// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Sink configuration, filters and retry policy")
struct SinkConfigTests {
    @Test func decodesFileAndShellSinks() throws {
        let json = #"""
            {"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],
             "sinks":[{"name":"by-category","type":"file","path":"/var/log/spp/{category}.jsonl","mode":"0640","categories":["orders","invoices"]},
                      {"name":"notify","type":"shell","command":["/usr/local/bin/notify","--quiet"],"timeoutSeconds":5,"concurrency":2,
                       "events":["order.*","invoice.paid"],"retry":{"maxAttempts":3,"initialSeconds":0.5,"maxSeconds":10},"ordered":false}]}
            """#
        let sinks = try ConfigDecoder.decode(Array(json.utf8)).sinks
        #expect(sinks.count == 2)
        #expect(sinks[0].kind == .file(path: "/var/log/spp/{category}.jsonl", mode: 0o640))
        #expect(sinks[0].filter.categories == [.orders, .invoices])
        #expect(sinks[0].ordered)
        #expect(sinks[0].retry == RetryPolicy())
        #expect(sinks[1].kind == .shell(command: ["/usr/local/bin/notify", "--quiet"], timeoutSeconds: 5, concurrency: 2))
        #expect(sinks[1].retry == RetryPolicy(maxAttempts: 3, initialSeconds: 0.5, maxSeconds: 10))
        #expect(!sinks[1].ordered)
        #expect(sinks[1].concurrency == 2)
    }

    @Test(arguments: [
        (SinkFilter(), "coupon.redeemed", EventCategory.other, true),
        (SinkFilter(categories: [.orders]), "order.created", .orders, true),
        (SinkFilter(categories: [.orders]), "invoice.paid", .invoices, false),
        (SinkFilter(events: ["order.*"]), "order.status_changed", .orders, true),
        (SinkFilter(events: ["order.*"]), "order_message.created", .messages, false),
        (SinkFilter(events: ["order.*"]), "order", .orders, false),
        (SinkFilter(events: ["Invoice.Paid"]), "invoice.paid", .invoices, true),
        (SinkFilter(events: ["invoice.paid"]), "invoice.paid_late", .invoices, false),
        (SinkFilter(events: ["*"]), "anything", .other, true),
        (SinkFilter(categories: [.orders], events: ["order.created"]), "order.deleted", .orders, false),
    ])
    func filters(_ filter: SinkFilter, _ event: String, _ category: EventCategory, _ expected: Bool) {
        #expect(filter.matches(category: category, event: event) == expected)
    }

    @Test func backoffGrowsWithJitterAndIsCapped() {
        let p = RetryPolicy(maxAttempts: 8, initialSeconds: 1, maxSeconds: 60)
        #expect(p.delay(afterAttempt: 1, random: 0.999) <= 1)
        #expect(p.delay(afterAttempt: 1, random: 0) >= 0.1)
        #expect(abs(p.delay(afterAttempt: 4, random: 1) - 8) < 0.0001)
        #expect(p.delay(afterAttempt: 30, random: 1) <= 60)
        #expect(p.delay(afterAttempt: 1000, random: 0.5) <= 60)
    }

    @Test(arguments: [
        ("/log/{category}.jsonl", "orders", "order.created", "/log/orders.jsonl"),
        ("/log/{category}/{event}.jsonl", "other", "../../etc/passwd", "/log/other/_._.._etc_passwd.jsonl"),
        ("/log/{event}", "other", ".hidden", "/log/_hidden"),
        ("/log/all.jsonl", "orders", "order.created", "/log/all.jsonl"),
    ])
    func pathTemplates(_ template: String, _ category: String, _ event: String, _ expected: String) {
        #expect(PathTemplate.expand(template, category: EventCategory(rawValue: category)!, event: event) == expected)
    }
}
