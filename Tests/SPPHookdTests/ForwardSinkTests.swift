// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Testing

@Suite("Forward sinks: HTTP and HTTPS receivers, signatures, retries")
struct ForwardSinkTests {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    @Test func standardWebhooksVector() throws {
        let key = try #require(ForwardSink.decodeSecret(Self.secret))
        let signature = ForwardSink.signature(key: key, id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
            body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(ForwardSink.decodeSecret("whsec_not base64!") == nil)
    }

    static func forward(_ name: String, _ url: String, extra: String = "") -> String {
        #"{"name": "\#(name)", "type": "forward", "url": "\#(url)", "timeoutSeconds": 1, "#
            + #""retry": {"maxAttempts": 3, "initialSeconds": 0.05, "maxSeconds": 0.1}\#(extra)}"#
    }

    @Test func plainHTTPRetriesDeadLettersAndSigns() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir, secret: Self.secret)
        defer { receiver.stop() }
        let (held, closed) = try refusingPort()
        defer { close(held) }
        let base = "http://127.0.0.1:\(receiver.port)"
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("ok", base + "/ok?x=1", extra: #", "signingSecret": "env:TEST_SIGNING_SECRET", "headers": {"X-Api-Key": "k1"}"#)),
                      \(Self.forward("flaky", base + "/flaky")), \(Self.forward("throttle", base + "/throttle")),
                      \(Self.forward("bad", base + "/bad")), \(Self.forward("refused", "http://127.0.0.1:\(closed)/x")),
                      \(Self.forward("spp-body", base + "/ok", extra: #", "body": "spp", "events": ["invoice.*"]"#))]
            """, environment: ["TEST_SIGNING_SECRET": Self.secret])
        let client = try RawHTTPClient(port: daemon.port)
        for (event, id) in [("order.created", "A"), ("invoice.paid", "B")] {
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: event, id: id)))
            #expect(client.readResponse()?.status == 200)
        }
        try waitFor(20) {
            receiver.requests(to: "/ok?x=1").count == 2 && receiver.requests(to: "/flaky").count == 3
                && receiver.requests(to: "/throttle").count == 3 && receiver.requests(to: "/ok").count == 1
                && dir.deadLetters("bad").count >= 2
                && dir.deadLetters("refused").count >= 1
        }
        let log = dir.events()
        // Signed, with the event id, custom headers, and the stored event as the body.
        let first = receiver.requests(to: "/ok?x=1")[0]
        let headers = first["headers"] as! [String: String]
        #expect(first["signature_ok"] as? Bool == true)
        #expect(receiver.requests(to: "/ok?x=1")[1]["signature_ok"] as? Bool == true)
        #expect(headers["webhook-id"] == log[0]["id"] as? String)
        #expect(headers["X-Api-Key"] == "k1")
        #expect(headers["X-SPP-Event"] == "order.created")
        #expect(first["body"] as? String == Self.logLines(dir)[0])
        // Keep-alive: both events went over one connection.
        #expect(receiver.requests(to: "/ok?x=1").map { $0["client_port"] as! Int }.count == 2)
        #expect(Set(receiver.requests(to: "/ok?x=1").map { $0["client_port"] as! Int }).count == 1)
        // 500 then 200: delivered on the second try, once per event (3 requests for 2 events).
        #expect(!FileManager.default.fileExists(atPath: dir.file("data/dead-letters/flaky.jsonl")))
        // 429 with Retry-After: 1 waited at least a second (the policy alone would wait 0.1 s).
        let throttled = receiver.requests(to: "/throttle").map { $0["at"] as! Double }
        #expect(throttled[1] - throttled[0] >= 0.9, "Retry-After ignored: \(throttled[1] - throttled[0])")
        // 400: dead-lettered at once, one attempt per event.
        #expect(receiver.requests(to: "/bad").count == 2)
        let bad = dir.deadLetters("bad")
        #expect(bad.count == 2 && bad.allSatisfy { $0["attempts"] as? Int == 1 && ($0["lastError"] as? String ?? "").hasPrefix("HTTP 400") })
        // Connection refused: retried, then dead-lettered.
        let refused = dir.deadLetters("refused")
        #expect(refused.first?["attempts"] as? Int == 3)
        let refusedError = refused.first?["lastError"] as? String ?? ""
        #expect(refusedError.contains("connect") && refusedError.contains("Connection refused"), "\(refused)")
        // body "spp": SPP's envelope without the token, only for the invoice.
        let spp = try JSONSerialization.jsonObject(with: Data((receiver.requests(to: "/ok")[0]["body"] as! String).utf8)) as! [String: Any]
        #expect(spp["event"] as? String == "invoice.paid" && spp["token"] == nil && spp["seq"] == nil && spp["data"] != nil)
    }

    /// A 200 whose chunked body is malformed is not a delivery: the response cannot be
    /// trusted, so the event is retried (the hand-written client used to drop the two bytes
    /// after a chunk unchecked, and took "+5" for a size).
    @Test func aMalformedChunkedAnswerIsNotADelivery() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir, secret: Self.secret)
        defer { receiver.stop() }
        let base = "http://127.0.0.1:\(receiver.port)"
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("chunked", base + "/chunked")), \(Self.forward("badchunk", base + "/badchunk")),
                      \(Self.forward("badsize", base + "/badsize"))]
            """)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.created", id: "chunky")))
        #expect(client.readResponse()?.status == 200)
        try waitFor(20) {
            dir.read("data/cursors/chunked.json").contains("\"seq\":1")
                && dir.deadLetters("badchunk").count >= 1
                && dir.deadLetters("badsize").count >= 1
        }
        #expect(receiver.requests(to: "/chunked").count == 1)
        for name in ["badchunk", "badsize"] {
            let letters = dir.deadLetters(name)
            #expect(receiver.requests(to: "/" + name).count == 3)
            #expect(letters.first?["attempts"] as? Int == 3)
            // Bound first: Swift Testing 6.3's #expect does not check `(x?[k] as? String ?? "").contains(…)`.
            let lastError = letters.first?["lastError"] as? String ?? ""
            #expect(lastError.contains("chunked-encoding"), "\(letters)")
        }
    }

    /// Through a real forward proxy (tinyproxy): the standard `http_proxy` variable for a sink
    /// without a proxy of its own, the per-sink `proxy` key, and `"proxy": ""` to go direct.
    @Test func proxiesFromTheEnvironmentAndThePerSinkKey() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir, secret: Self.secret)
        defer { receiver.stop() }
        let proxy = try ForwardProxy(dir: dir)
        let base = "http://127.0.0.1:\(receiver.port)"
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("env", base + "/ok?via=env")),
                      \(Self.forward("own", base + "/ok?via=own", extra: #", "proxy": "\#(proxy.url)""#)),
                      \(Self.forward("direct", base + "/ok?via=none", extra: #", "proxy": """#))]
            """, environment: ["http_proxy": proxy.url])
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.created", id: "proxied")))
        #expect(client.readResponse()?.status == 200)
        try waitFor(20) { ["env", "own", "none"].allSatisfy { receiver.requests(to: "/ok?via=\($0)").count == 1 } }
        func via(_ name: String) -> String {
            (receiver.requests(to: "/ok?via=\(name)").first?["headers"] as? [String: String])?["Via"] ?? ""
        }
        #expect(via("env").contains("tinyproxy"), "http_proxy was not used")
        #expect(via("own").contains("tinyproxy"), "the sink's proxy was not used")
        #expect(via("none").isEmpty, "\"proxy\": \"\" still went through the proxy")
    }

    /// https through the proxy is a CONNECT tunnel (`https_proxy`), and `no_proxy` names the
    /// hosts that go direct; certificate checks still apply end to end.
    @Test func httpsProxyTunnelsAndNoProxyGoesDirect() throws {
        let dir = TemporaryDirectory()
        let (ca, cert, key) = try makeCertificates(in: dir)
        let receiver = try Receiver(dir: dir, tls: (cert, key))
        defer { receiver.stop() }
        let proxy = try ForwardProxy(dir: dir)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("tunnel", "https://127.0.0.1:\(receiver.port)/ok?via=tunnel", extra: #", "caFile": "\#(ca)""#)),
                      \(Self.forward("bypass", "https://localhost:\(receiver.port)/ok?via=direct", extra: #", "caFile": "\#(ca)""#))]
            """, environment: ["https_proxy": proxy.url, "no_proxy": "localhost"])
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.created", id: "tunnelled")))
        #expect(client.readResponse()?.status == 200)
        try waitFor(20) { ["tunnel", "direct"].allSatisfy { receiver.requests(to: "/ok?via=\($0)").count == 1 } }
        #expect(proxy.tunnels == ["127.0.0.1:\(receiver.port)"], "one tunnel, to the proxied sink's host only")
    }

    /// A redirect is not followed (a 307 would re-send the event, token-free but signed, to
    /// wherever the receiver points): it is the receiver's answer, a permanent failure.
    @Test func redirectsAreNotFollowed() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir, secret: Self.secret)
        defer { receiver.stop() }
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("moved", "http://127.0.0.1:\(receiver.port)/moved"))]
            """)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.created", id: "redirected")))
        #expect(client.readResponse()?.status == 200)
        try waitFor(20) { dir.deadLetters("moved").count >= 1 }
        let letters = dir.deadLetters("moved")
        let lastError = letters.first?["lastError"] as? String ?? ""
        #expect(letters.count == 1 && lastError.hasPrefix("HTTP 307"), "\(letters)")
        #expect(receiver.requests(to: "/moved").count == 1)
        #expect(receiver.requests(to: "/ok?redirected=1").isEmpty, "the redirect was followed")
    }

    /// `replay` used to send one request at a time whatever the sink's `concurrency`. The
    /// receiver's /gather holds each request until four are in at once.
    @Test func replayToAForwardSinkKeepsItsConcurrency() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir)
        defer { receiver.stop() }
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        for i in 1...8 {
            client.send(RawHTTPClient.post("/spp/main", sppBody(id: "R\(i)")))
            #expect(client.readResponse()?.status == 200)
        }
        _ = daemon.stop()
        let stored = try Data(contentsOf: URL(fileURLWithPath: dir.file("config.json")))
        var config = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
        config["sinks"] = [["name": "gather", "type": "forward", "url": "http://127.0.0.1:\(receiver.port)/gather", "concurrency": 4]]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir.file("replay.json")))
        let r = try runCommand(["replay", "--config", dir.file("replay.json"), "--sink", "gather"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("gather: 8 event(s), 8 delivered, 0 failed"), "\(r.output)")
        let seen = receiver.requests(to: "/gather").compactMap { $0["concurrent"] as? Int }
        #expect(seen.count == 8)
        #expect(seen.max() == 4)
    }

    /// An https receiver that offers HTTP/2 gets it (nginx logs the protocol); one that
    /// does not (the Python receiver) still gets HTTP/1.1.
    @Test func http2WhereTheReceiverOffersIt() throws {
        let dir = TemporaryDirectory()
        let (ca, cert, key) = try makeCertificates(in: dir)
        let nginx = try Nginx(dir: dir, cert: cert, key: key)
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("h2", "https://127.0.0.1:\(nginx.port)/h2", extra: #", "caFile": "\#(ca)""#))]
            """)
        let client = try RawHTTPClient(port: daemon.port)
        for id in ["one", "two"] {
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.created", id: id)))
            #expect(client.readResponse()?.status == 200)
        }
        // nginx writes its access log line after the answer the cursor waits for: wait on both.
        try waitFor(20) { dir.read("data/cursors/h2.json").contains("\"seq\":2,") && nginx.requests.count >= 2 }
        let retries = daemon.stderr.split(separator: "\n").filter { $0.contains("retry") || $0.contains("fail") }
        #expect(nginx.requests == ["HTTP/2.0 POST /h2 204", "HTTP/2.0 POST /h2 204"], "\(nginx.requests) \(retries)")
    }

    @Test func httpsVerifiesTheCertificateAgainstTheConfiguredCA() throws {
        let dir = TemporaryDirectory()
        let (ca, cert, key) = try makeCertificates(in: dir)
        let receiver = try Receiver(dir: dir, tls: (cert, key))
        defer { receiver.stop() }
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [\(Self.forward("trusted", "https://127.0.0.1:\(receiver.port)/ok", extra: #", "caFile": "\#(ca)""#)),
                      \(Self.forward("byname", "https://localhost:\(receiver.port)/ok", extra: #", "caFile": "\#(ca)""#)),
                      \(Self.forward("untrusted", "https://127.0.0.1:\(receiver.port)/ok"))]
            """)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.status == 200)
        // The receiver records a request before answering it; the cursor moves after the answer.
        try waitFor(20) {
            receiver.requests(to: "/ok").count == 2 && dir.deadLetters("untrusted").count >= 1
                && dir.read("data/cursors/trusted.json").contains("\"seq\":1,") && dir.read("data/cursors/byname.json").contains("\"seq\":1,")
        }
        #expect(dir.read("data/cursors/trusted.json").contains("\"seq\":1,"))
        #expect(dir.read("data/cursors/byname.json").contains("\"seq\":1,"))
        let untrusted = dir.deadLetters("untrusted")
        let untrustedError = untrusted.first?["lastError"] as? String ?? ""
        #expect(untrustedError.contains("SSL certificate problem"), "\(untrusted)")
    }

    @Test func aSlowReceiverTimesOut() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(dir: dir)
        defer { receiver.stop() }
        let daemon = try DaemonProcess(dir: dir, extra: """
            "sinks": [{"name": "slow", "type": "forward", "url": "http://127.0.0.1:\(receiver.port)/slow", "timeoutSeconds": 0.5,
                       "retry": {"maxAttempts": 2, "initialSeconds": 0.05, "maxSeconds": 0.1}}]
            """)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.status == 200)
        try waitFor(20) { dir.deadLetters("slow").count >= 1 }
        let letter = dir.deadLetters("slow").first
        #expect(letter?["attempts"] as? Int == 2)
        let slowError = letter?["lastError"] as? String ?? ""
        #expect(slowError.contains("timed out"), "\(String(describing: letter))")
    }

    @Test(arguments: [
        ("https://hooks.example.com/spp?x=1#frag", true, "hooks.example.com", 443, "/spp?x=1"),
        ("http://127.0.0.1:8080", false, "127.0.0.1", 8080, "/"),
        ("HTTP://[::1]:9000/a", false, "::1", 9000, "/a"),
        ("https://h?q", true, "h", 443, "/?q"),
    ])
    func urls(_ text: String, _ secure: Bool, _ host: String, _ port: Int, _ target: String) throws {
        let url = try #require(HTTPURL(text))
        #expect(url.secure == secure && url.host == host && url.port == port && url.target == target)
    }

    @Test(arguments: ["ftp://x/", "http://", "http://user@host/", "http://h:0/", "http://h:70000/", "http://h/a b"])
    func badURLs(_ text: String) {
        #expect(HTTPURL(text) == nil)
    }

    @Test(arguments: ["", "f", "fo", "foo", "foob", "fooba", "foobar", "\u{0}\u{ff}\u{fe}"])
    func base64RoundTrip(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    static func logLines(_ dir: TemporaryDirectory) -> [String] {
        dir.read("data/events.jsonl").split(separator: "\n").map(String.init)
    }
}
