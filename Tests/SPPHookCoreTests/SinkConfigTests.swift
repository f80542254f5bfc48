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

    static func sinks(_ sinksJSON: String) throws(ConfigError) -> [SinkConfig] {
        try ConfigDecoder.decode(Array((#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"api":{"subdomain":"acme","key":"env:K"},"sinks":"# + sinksJSON + "}").utf8)).sinks
    }

    @Test func programsDecodeAsTextOrLines() throws {
        let sinks = try Self.sinks(#"""
            [{"name":"f","type":"file","path":"/x","where":".event == \"order.created\""},
             {"name":"w","type":"forward","url":"env:SLACK_URL","transform":["def t: .event;", "{text: t}"]},
             {"name":"m","type":"spp-order-message","transform":".payload.data.client.name_f"},
             {"name":"s","type":"shell","command":["/bin/cat"],"where":"true","transform":"."}]
            """#)
        #expect(sinks[0].programs == SinkPrograms(where: #".event == "order.created""#))
        #expect(sinks[1].programs == SinkPrograms(transform: "def t: .event;\n{text: t}"))
        guard case .forward(let f) = sinks[1].kind else { Issue.record("not forward"); return }
        #expect(f.urlSecret == .environment("SLACK_URL") && f.url == SinkConfig.ForwardOptions.unresolvedURL)
        #expect(sinks[2].kind == .orderMessage(message: nil, staffOnly: false, userID: nil))
        #expect(sinks[3].programs == SinkPrograms(where: "true", transform: "."))
    }

    @Test(arguments: [
        (#"[{"name":"f","type":"file","path":"/x","where":true}]"#, "sinks[0].where", "a string, or an array of its lines"),
        (#"[{"name":"f","type":"file","path":"/x","where":"  \n"}]"#, "sinks[0].where", "must not be empty"),
        (#"[{"name":"f","type":"file","path":"/x","transform":[]}]"#, "sinks[0].transform", "a string, or an array"),
        (#"[{"name":"f","type":"file","path":"/x","transform":["a", 1]}]"#, "sinks[0].transform[1]", "a line of the program"),
        (#"[{"name":"f","type":"forward","url":"http://h/","body":"spp","transform":"."}]"#, "sinks[0].body", "cannot be combined"),
        (#"[{"name":"f","type":"forward","url":"ftp://h/"}]"#, "sinks[0].url", "env:NAME"),
        (#"[{"name":"f","type":"forward","url":"http://h/","proxy":"proxy:3128"}]"#, "sinks[0].proxy", "proxy URL"),
        (#"[{"name":"f","type":"forward","url":"http://h/","proxy":"http://a b/"}]"#, "sinks[0].proxy", "proxy URL"),
        (#"[{"name":"f","type":"forward","url":"http://h/","proxy":3128}]"#, "sinks[0].proxy", "string"),
        (#"[{"name":"f","type":"file","path":"/x","proxy":"http://p/"}]"#, "sinks[0].proxy", "unknown key"),
        (#"[{"name":"m","type":"spp-order-message"}]"#, "sinks[0].message", "is required"),
        (#"[{"name":"m","type":"spp-order-message","message":"x","transform":"\"y\""}]"#, "sinks[0].message", "cannot be combined"),
    ])
    func programErrorsNameTheKey(_ json: String, _ path: String, _ fragment: String) {
        Self.expectRefused(json, path, fragment)
    }

    /// `sinks` JSON is refused with an error at `path` whose message contains `fragment`.
    static func expectRefused(_ json: String, _ path: String, _ fragment: String) {
        do {
            _ = try sinks(json)
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.path == path, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test func decodesAPostgresSinkAndTheInstanceName() throws {
        let json = #"{"instance":"rx-a","endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"name":"db","type":"postgres","connection":"env:SPP_PG_URL","table":"analytics.spp_events","batchSize":200,"where":".category == \"orders\""}]}"#
        let config = try ConfigDecoder.decode(Array(json.utf8))
        #expect(config.instance == "rx-a")
        #expect(config.sinks[0].kind == .postgres(SinkConfig.PostgresOptions(connection: .environment("SPP_PG_URL"), table: "analytics.spp_events", batchSize: 200)))
        #expect(config.secretReferences.contains { $0.key == "sinks[0].connection" })
        #expect(PostgresStatements.quoted("analytics.spp_events") == #""analytics"."spp_events""#)
        #expect(PostgresStatements.insert("t", rows: 2).hasSuffix("$17::timestamptz, $18::jsonb) ON CONFLICT DO NOTHING"))
    }

    @Test(arguments: [
        (#"[{"name":"db","type":"postgres"}]"#, "sinks[0].connection", "required"),
        (#"[{"name":"db","type":"postgres","connection":"env:X","table":"spp-events"}]"#, "sinks[0].table", "letters, digits and _"),
        (#"[{"name":"db","type":"postgres","connection":"env:X","table":"a.b.c"}]"#, "sinks[0].table", "schema.table"),
        (#"[{"name":"db","type":"postgres","connection":"env:X","table":"1abc"}]"#, "sinks[0].table", "not starting with a digit"),
        (#"[{"name":"db","type":"postgres","connection":"env:X","batchSize":0}]"#, "sinks[0].batchSize", "between"),
        (#"[{"name":"db","type":"postgres","connection":"env:X","url":"http://x/"}]"#, "sinks[0].url", "unknown key"),
    ])
    func postgresErrorsNameTheKey(_ json: String, _ path: String, _ fragment: String) {
        Self.expectRefused(json, path, fragment)
    }

    @Test func aURLFromASecretIsASecretReference() throws {
        let json = #"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"name":"w","type":"forward","url":"env:HOOK_URL"}]}"#
        let config = try ConfigDecoder.decode(Array(json.utf8))
        #expect(config.secretReferences.contains { $0.key == "sinks[0].url" && $0.reference == .environment("HOOK_URL") })
        #expect(config.secretVariableNames.contains("HOOK_URL"), "hooks do not inherit it")
    }
}
