// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// The API commands and the spp-order-message sink against a fake SPP API on loopback.
@Suite("SPP API: api, order-messages, spp-order-message sink")
struct SPPAPITests {
    static let key = "spp_api_0123456789abcdefghijklmnopqrstuv"

    /// A config whose `api` points at the fake server, with the key from the environment.
    static func config(_ dir: TemporaryDirectory, port: UInt16, extra: String = "") throws -> String {
        let path = dir.file("api-config.json")
        try """
            {"listen": "127.0.0.1:0", "dataDir": "\(dir.file("data"))",
             "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:TEST_SPP_TOKEN"]}],
             "api": {"baseURL": "http://127.0.0.1:\(port)/api/v1", "key": "env:TEST_SPP_API_KEY", "apiVersion": "2024-03-05"}\(extra)}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func run(_ args: [String], key: String = SPPAPITests.key) throws -> (status: Int32, output: String) {
        try runCommand(args, environment: ["TEST_SPP_API_KEY": key, "SPP_API_KEY": key])
    }

    @Test func orderMessagesCreateListDelete() throws {
        let dir = TemporaryDirectory()
        let spp = try Receiver(dir: dir, fakeSPPWithKey: Self.key)
        defer { spp.stop() }
        let config = try Self.config(dir, port: spp.port)
        let created = try Self.run(["order-messages", "create", "--config", config, "--order", "666AF315", "--message", "Hello from spp-hookd", "--user", "5", "--staff-only"])
        #expect(created.status == 0, "\(created.output)")
        let message = try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as! [String: Any]
        #expect(message["message"] as? String == "Hello from spp-hookd" && message["staff_only"] as? Bool == true && message["user_id"] as? Int == 5)
        let post = spp.requests.last!
        let headers = post["headers"] as! [String: String]
        #expect(post["method"] as? String == "POST" && post["path"] as? String == "/api/v1/order_messages/666AF315")
        #expect(headers["Authorization"] == "Bearer \(Self.key)" && headers["Accept"] == "application/json")
        #expect(headers["X-Api-Version"] == "2024-03-05")

        // 8 messages now, 3 per page: a limit of 5 takes two pages; the default (10) all three.
        let five = try Self.run(["order-messages", "list", "--config", config, "--order", "666AF315", "--limit", "5"])
        #expect(five.status == 0, "\(five.output)")
        let fiveItems = try JSONSerialization.jsonObject(with: Data(five.output.utf8)) as! [[String: Any]]
        #expect(fiveItems.map { $0["id"] as! Int } == [message["id"] as! Int, 7, 6, 5, 4])
        let all = try Self.run(["order-messages", "list", "--config", config, "--order", "666AF315"])
        #expect((try JSONSerialization.jsonObject(with: Data(all.output.utf8)) as! [Any]).count == 8)
        #expect(spp.requests.filter { ($0["path"] as! String).contains("page=3") }.count == 1)
        let bare = try Self.run(["order-messages", "list", "--config", config, "--order", "BARE"])
        #expect(bare.output.contains("\"message\":\"bare\""), "\(bare.output)")

        let deleted = try Self.run(["order-messages", "delete", "--config", config, "--message", "7"])
        #expect(deleted.status == 0 && deleted.output.contains("deleted message 7"))
        #expect(spp.requests.last!["path"] as? String == "/api/v1/order_messages/7" && spp.requests.last!["method"] as? String == "DELETE")
        let again = try Self.run(["order-messages", "delete", "--config", config, "--message", "7"])
        #expect(again.status == 1 && again.output.contains("HTTP 404: Not found. (request req-"), "\(again.output)")
        // The key never appears in what the commands print.
        for r in [created, five, all, bare, deleted, again] { #expect(!r.output.contains(Self.key)) }
    }

    @Test func apiCallsQueriesErrorsAndThrottling() throws {
        let dir = TemporaryDirectory()
        let spp = try Receiver(dir: dir, fakeSPPWithKey: Self.key)
        defer { spp.stop() }
        let config = try Self.config(dir, port: spp.port)
        let get = try Self.run(["api", "GET", "/order_messages/666AF315", "--config", config, "--query", "filters[user_id][$eq]=1",
            "--query", "limit=2", "--header", "X-Trace: t1"])
        #expect(get.status == 0, "\(get.output)")
        #expect(get.output.contains("HTTP 200 OK (request req-"))
        let sent = spp.requests.last!
        #expect(sent["path"] as? String == "/api/v1/order_messages/666AF315?filters%5Buser_id%5D%5B%24eq%5D=1&limit=2")
        #expect((sent["headers"] as! [String: String])["X-Trace"] == "t1")
        // SPP's message and request id on errors; exit 1.
        let missing = try Self.run(["api", "POST", "/order_messages/666AF315", "--config", config, "--data", "{}"])
        #expect(missing.status == 1 && missing.output.contains("HTTP 400: The message field is required."), "\(missing.output)")
        let wrongKey = try Self.run(["api", "GET", "/order_messages/666AF315", "--config", config], key: "spp_api_wrong")
        #expect(wrongKey.status == 1 && wrongKey.output.contains("HTTP 401: Unauthenticated."), "\(wrongKey.output)")
        #expect(!wrongKey.output.contains("spp_api_wrong"))
        // 429 with Retry-After: waited, retried, succeeded.
        let start = Date()
        let throttled = try Self.run(["api", "GET", "/throttled", "--config", config])
        #expect(throttled.status == 0, "\(throttled.output)")
        #expect(Date().timeIntervalSince(start) >= 1.0)
        #expect(spp.requests.filter { $0["path"] as? String == "/api/v1/throttled" }.count == 2)
        // --base-url (or --subdomain) with the key from SPP_API_KEY, no config needed.
        let flags = try Self.run(["api", "GET", "/order_messages/BARE", "--base-url", "http://127.0.0.1:\(spp.port)/api/v1"])
        #expect(flags.status == 0 && flags.output.contains("bare"), "\(flags.output)")
    }

    @Test func orderMessageSinkRepliesToOrders() throws {
        let dir = TemporaryDirectory()
        let spp = try Receiver(dir: dir, fakeSPPWithKey: Self.key)
        defer { spp.stop() }
        let sink = #", "sinks": [{"name": "thanks", "type": "spp-order-message", "events": ["order.created"], "#
            + #""message": "Thanks {data.client.name_f}, we received order {data.id}.", "staffOnly": false, "#
            + #""retry": {"maxAttempts": 2, "initialSeconds": 0.05, "maxSeconds": 0.1}}]"#
        let config = try Self.config(dir, port: spp.port, extra: sink)
        let daemon = try DaemonProcess(dir: dir, extra: "", environment: ["TEST_SPP_API_KEY": Self.key], extraArguments: [], start: false)
        daemon.process.arguments = ["serve", "--config", config, "--log-level", "debug"]
        try daemon.launch()
        let client = try RawHTTPClient(port: daemon.port)
        for (event, id) in [("order.created", "666AF315"), ("invoice.paid", "666AF315"), ("order.created", "NOPE")] {
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: event, id: id)))
            #expect(client.readResponse()?.status == 200)
        }
        try waitFor(15) { dir.deadLetters("thanks").count >= 1 }
        let posts = spp.requests.filter { $0["method"] as? String == "POST" }
        #expect(posts.count == 2)
        #expect(posts[0]["path"] as? String == "/api/v1/order_messages/666AF315")
        let body = try JSONSerialization.jsonObject(with: Data((posts[0]["body"] as! String).utf8)) as! [String: Any]
        #expect(body["message"] as? String == "Thanks Jane, we received order 666AF315.")
        #expect(body["staff_only"] as? Bool == false)
        // Unknown order: SPP says 404, dead-lettered at once with its message.
        let letter = dir.read("data/dead-letters/thanks.jsonl")
        #expect(letter.contains("HTTP 404: Not found.") && letter.contains("\"attempts\":1"), "\(letter)")
        daemon.stop()
        #expect(!daemon.stderr.contains(Self.key))
    }

    /// `transform` makes the message text (a string); any other output dead-letters the event.
    @Test func orderMessageSinkTakesItsTextFromATransform() throws {
        let dir = TemporaryDirectory()
        let spp = try Receiver(dir: dir, fakeSPPWithKey: Self.key)
        defer { spp.stop() }
        let sink = #", "sinks": [{"name": "thanks", "type": "spp-order-message", "staffOnly": true, "#
            + #""where": ".event == \"order.created\"", "#
            + #""transform": "if .payload.data.note == \"object\" then {oops: 1} else \"Thanks \\(.payload.data.client.name_f), order \\(.payload.data.id) (\\($sink))\" end"}]"#
        let config = try Self.config(dir, port: spp.port, extra: sink)
        let daemon = try DaemonProcess(dir: dir, extra: "", environment: ["TEST_SPP_API_KEY": Self.key], extraArguments: [], start: false)
        daemon.process.arguments = ["serve", "--config", config, "--log-level", "debug"]
        try daemon.launch()
        let client = try RawHTTPClient(port: daemon.port)
        for (event, id, note) in [("order.created", "666AF315", ""), ("invoice.paid", "666AF315", ""), ("order.created", "666AF315", "object")] {
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: event, id: id, note: note)))
            #expect(client.readResponse()?.status == 200)
        }
        try waitFor(15) { dir.deadLetters("thanks").count >= 1 }
        let posts = spp.requests.filter { $0["method"] as? String == "POST" }
        #expect(posts.count == 1, "the invoice was passed over by where; the object was not sent")
        let body = try JSONSerialization.jsonObject(with: Data((try #require(posts.first)["body"] as! String).utf8)) as! [String: Any]
        #expect(body["message"] as? String == "Thanks Jane, order 666AF315 (thanks)" && body["staff_only"] as? Bool == true)
        let letter = dir.read("data/dead-letters/thanks.jsonl")
        #expect(letter.contains(#"sinks[0].transform: must produce a string (the message text), not {\"oops\":1}"#), "\(letter)")
        daemon.stop()
    }

    @Test(arguments: [
        ("Thanks {data.client.name_f}!", "Thanks Jane!"), ("{event} for {data.id}", "order.created for 666AF315"),
        ("{data.missing} / {data.tags.0}", " / vip"), ("{{literal}}", "{literal}"), ("no fields", "no fields"),
    ])
    func templates(_ template: String, _ expected: String) throws {
        guard case .object(let payload) = try JSONParser.parse(
            #"{"event":"order.created","data":{"id":"666AF315","client":{"name_f":"Jane"},"tags":["vip"]}}"#)
        else { return }
        #expect(MessageTemplate.render(template, payload: payload) == expected)
    }

    @Test func pagesDecodeBothShapes() throws {
        #expect(APIPage(try JSONParser.parse(#"{"data":[1,2],"links":{"next":"https://x/p?page=2"},"meta":{}}"#))
            == APIPage(.array([])).map { _ in APIPage(try! JSONParser.parse(#"{"data":[1,2],"links":{"next":"https://x/p?page=2"}}"#))! })
        let envelope = try #require(APIPage(try JSONParser.parse(#"{"data":[1,2],"links":{"next":null},"meta":{}}"#)))
        #expect(envelope.items.count == 2 && envelope.next == nil)
        let bare = try #require(APIPage(try JSONParser.parse("[1,2,3]")))
        #expect(bare.items.count == 3 && bare.next == nil)
        #expect(APIPage(try JSONParser.parse(#"{"error":"x"}"#)) == nil)
        #expect(APIConfig.baseURL(subdomain: "acme")?.description == "https://acme.spp.io/api/v1")
        #expect(APIConfig.baseURL(subdomain: "a/b") == nil)
    }
}
