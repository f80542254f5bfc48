// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// The real binary on a real socket: what SPP (and an attacker) would see.
@Suite("spp-hookd serve, end to end")
struct ReceiveEndToEndTests {
    @Test func storesAValidEventAndNeverTheToken() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        let r = try #require(client.readResponse())
        #expect(r.status == 200)
        #expect(r.body == "{\"ok\":true,\"seq\":1,\"category\":\"orders\"}\n")
        #expect(r.header("content-type") == "application/json")
        #expect(r.header("date")?.hasSuffix(" GMT") == true)
        let events = dir.events()
        #expect(events.count == 1)
        let e = try #require(events.first)
        #expect(e["seq"] as? Int == 1)
        #expect(e["endpoint"] as? String == "main")
        #expect(e["category"] as? String == "orders")
        #expect(e["event"] as? String == "order.created")
        #expect(e["created"] as? Int == 1_558_608_668)
        #expect((e["id"] as? String)?.count == 32)
        let payload = try #require(e["payload"] as? [String: Any])
        #expect(payload["token"] == nil)
        #expect((payload["data"] as? [String: Any])?["id"] as? String == "666AF315")
        daemon.stop()
        // The token is nowhere under dataDir and nowhere in the daemon's output.
        let files = FileManager.default.enumerator(atPath: dir.file("data"))!.compactMap { $0 as? String }
        for f in files {
            #expect(!dir.read("data/\(f)").contains(DaemonProcess.token), "token found in \(f)")
        }
        #expect(!daemon.stderr.contains(DaemonProcess.token))
    }

    @Test func wrongOrMissingTokenIsRejectedAndNothingStored() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        for body in [sppBody(token: wrong), #"{"event":"order.created","data":{}}"#, #"{"event":"order.created","token":5}"#] {
            client.send(RawHTTPClient.post("/spp/main", body))
            let r = try #require(client.readResponse())
            #expect(r.status == 401)
            #expect(r.json["error"] as? String == "missing or invalid token")
            #expect(!r.body.contains(wrong))
        }
        // The second endpoint's token (from file:) does not open the first endpoint.
        client.send(RawHTTPClient.post("/spp/main", sppBody(token: "second-endpoint-token-0123456789")))
        #expect(client.readResponse()?.status == 401)
        client.send(RawHTTPClient.post("/spp/second", sppBody(token: "second-endpoint-token-0123456789")))
        #expect(client.readResponse()?.status == 200)
        #expect(dir.events().map { $0["endpoint"] as? String } == ["second"])
        #expect(!daemon.stderr.contains(wrong))
    }

    @Test func unknownEventsAreStoredAsOther() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "coupon.redeemed")))
        let r = try #require(client.readResponse())
        #expect(r.status == 200)
        #expect(r.json["category"] as? String == "other")
        #expect(dir.events().first?["event"] as? String == "coupon.redeemed")
    }

    @Test func duplicatesAreAcknowledgedButStoredOnce() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.json["seq"] as? Int == 1)
        // Same event, different whitespace and a different (rotated) token order: same body minus token.
        let again = sppBody().replacingOccurrences(of: ",\"created\"", with: ", \"created\"")
        client.send(RawHTTPClient.post("/spp/main", again))
        let r = try #require(client.readResponse())
        #expect(r.status == 200)
        #expect(r.json["duplicate"] as? Bool == true)
        #expect(r.json["seq"] as? Int == 1)
        client.send(RawHTTPClient.post("/spp/main", sppBody(note: "changed")))
        #expect(client.readResponse()?.json["seq"] as? Int == 2)
        #expect(dir.events().count == 2)
    }

    @Test func oversizeMalformedAndUnsupportedBodies() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: #""limits": {"maxBodyBytes": 4096}"#)
        // Over the limit: refused from the Content-Length alone, then the connection closes.
        let big = try RawHTTPClient(port: daemon.port)
        big.send(RawHTTPClient.post("/spp/main", sppBody(note: String(repeating: "x", count: 5000))))
        let r413 = try #require(big.readResponse())
        #expect(r413.status == 413)
        #expect(r413.header("connection") == "close")
        #expect(big.isClosedByPeer())
        // Chunked over the limit.
        let chunked = try RawHTTPClient(port: daemon.port)
        chunked.send("POST /spp/main HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + String(repeating: "y", count: 4096) + "\r\n10\r\n")
        #expect(chunked.readResponse()?.status == 413)

        let client = try RawHTTPClient(port: daemon.port)
        let cases: [(String, String, Int, String)] = [
            (#"{"event":"order.created","token":"x""#, "application/json", 400, "malformed JSON"),
            ("[1,2,3]", "application/json", 400, "JSON object"),
            (#"{"token":"\#(DaemonProcess.token)","data":{}}"#, "application/json", 400, "missing field 'event'"),
            (#"{"token":"\#(DaemonProcess.token)","event":"a.b","created":"soon"}"#, "application/json", 400, "created"),
        ]
        for (body, type, status, fragment) in cases {
            client.send(RawHTTPClient.post("/spp/main", body, contentType: type))
            let r = try #require(client.readResponse())
            #expect(r.status == status, "\(body)")
            #expect((r.json["error"] as? String ?? "").contains(fragment), "\(r.body)")
            #expect(r.json["ok"] as? Bool == false)
        }
        client.send(RawHTTPClient.post("/spp/main", sppBody(), extraHeaders: "Content-Encoding: gzip\r\n"))
        #expect(client.readResponse()?.status == 415)
        #expect(dir.events().isEmpty)
    }

    @Test func chunkedFormPipelinedAndContinue() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        // Chunked, split into odd pieces.
        let body = Array(sppBody(event: "invoice.paid").utf8)
        var chunked = "POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for piece in stride(from: 0, to: body.count, by: 100).map({ body[$0..<min($0 + 100, body.count)] }) {
            chunked += String(piece.count, radix: 16) + ";ext=1\r\n" + String(decoding: piece, as: UTF8.self) + "\r\n"
        }
        chunked += "0\r\n\r\n"
        client.send(chunked)
        let r1 = try #require(client.readResponse())
        #expect(r1.status == 200)
        #expect(r1.json["category"] as? String == "invoices")
        // Form-encoded fallback.
        let form = "event=subscription.canceled&created=1558608668&token=\(DaemonProcess.token)&data[id]=77&data[client][email]=a%40b.c"
        client.send(RawHTTPClient.post("/spp/main", form, contentType: "application/x-www-form-urlencoded"))
        #expect(client.readResponse()?.json["category"] as? String == "subscriptions")
        // Three pipelined requests in one write: three responses, in order.
        client.send(RawHTTPClient.post("/spp/main", sppBody(event: "ticket.created")) + "GET /spp/main HTTP/1.1\r\nHost: a\r\n\r\n"
            + RawHTTPClient.post("/nowhere", "{}"))
        #expect(client.readResponse()?.json["category"] as? String == "tickets")
        let r405 = try #require(client.readResponse())
        #expect(r405.status == 405)
        #expect(r405.header("allow") == "POST")
        #expect(client.readResponse()?.status == 404)
        // Twenty pipelined events, then a half-close: the end of input arrives while the
        // first is being stored, and every one is still answered, in order, before the close.
        let burst = try RawHTTPClient(port: daemon.port)
        burst.send((0..<20).map { RawHTTPClient.post("/spp/main", sppBody(event: "order.tagged", id: "P-\($0)")) }.joined())
        burst.shutdownWrite()
        let answers = (0..<20).compactMap { _ in burst.readResponse() }
        #expect(answers.map(\.status) == Array(repeating: 200, count: 20))
        #expect(answers.compactMap { $0.json["seq"] as? Int } == (answers.first?.json["seq"] as? Int).map { Array($0..<$0 + 20) })
        #expect(burst.isClosedByPeer())
        // Expect: 100-continue: the interim response comes before the body is sent.
        client.send("POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: \(sppBody(event: "form.submitted").utf8.count)\r\n\r\n")
        let interim = try #require(client.readResponse())
        #expect(interim.status == 100)
        client.send(sppBody(event: "form.submitted"))
        #expect(client.readResponse()?.json["category"] as? String == "forms")
        // 100-continue to a path that does not exist: refused before the body, then closed.
        client.send("POST /nowhere HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n")
        #expect(client.readResponse()?.status == 404)
        #expect(client.isClosedByPeer())
        #expect(dir.events().map { $0["category"] as! String } == ["invoices", "subscriptions", "tickets"] + Array(repeating: "orders", count: 20) + ["forms"])
        let payload = dir.events()[1]["payload"] as! [String: Any]
        #expect(((payload["data"] as! [String: Any])["client"] as! [String: Any])["email"] as? String == "a@b.c")
    }

    @Test func framingAttacksGetAnErrorAndAClose() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: #""limits": {"maxHeaderBytes": 2048}"#)
        let attacks: [(String, Int)] = [
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400),
            ("POST /spp/main HTTP/1.1\r\nHost : a\r\n\r\n", 400),
            ("POST /spp/main HTTP/1.1\nHost: a\n\n", 400),
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "h", count: 3000) + "\r\n\r\n", 431),
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            ("POST /spp/main HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: pigeons\r\n\r\n", 501),
            ("POST /spp/main HTTP/3.0\r\nHost: a\r\n\r\n", 505),
            ("BREW /spp/main HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        ]
        for (raw, status) in attacks {
            let c = try RawHTTPClient(port: daemon.port)
            c.send(raw)
            let r = try #require(c.readResponse(), "no response to \(raw.prefix(60))")
            #expect(r.status == status, "\(raw.prefix(60))")
            #expect(c.isClosedByPeer(), "connection left open after \(raw.prefix(60))")
        }
        #expect(dir.events().isEmpty)
    }

    @Test func slowClientsTimeOutAndConnectionLimitAnswers503() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: #""limits": {"maxConnections": 3, "headerTimeoutSeconds": 1, "bodyTimeoutSeconds": 1, "idleTimeoutSeconds": 2}, "admin": {"listen": "127.0.0.1:0"}"#)
        let admin = try daemon.adminPort()
        // Slowloris: a head that never completes gets 408 after the header timeout.
        let slow = try RawHTTPClient(port: daemon.port)
        slow.send("POST /spp/main HTTP/1.1\r\nHost: a\r\n")
        let r = try #require(slow.readResponse())
        #expect(r.status == 408)
        #expect(slow.isClosedByPeer())
        // A body that stalls gets 408 after the body timeout.
        let slowBody = try RawHTTPClient(port: daemon.port)
        slowBody.send("POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n{\"event\":")
        #expect(slowBody.readResponse()?.status == 408)
        #expect(slowBody.isClosedByPeer())
        // Fill the connection table with idle sockets, then one more gets a fast 503.
        let idle = try (0..<3).map { _ in try RawHTTPClient(port: daemon.port) }
        try daemon.waitForOpenConnections(3, admin: admin)
        let extra = try RawHTTPClient(port: daemon.port)
        let r503 = try #require(extra.readResponse())
        #expect(r503.status == 503)
        #expect(extra.isClosedByPeer())
        // The idle ones are closed by the server in time, and service resumes.
        for c in idle { #expect(c.isClosedByPeer()) }
        try daemon.waitForOpenConnections(0, admin: admin)
        let ok = try RawHTTPClient(port: daemon.port)
        ok.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(ok.readResponse()?.status == 200)
    }

    @Test func logUnwritableMeans503NeverA2xx() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        // /dev/full accepts the open and fails every write with ENOSPC: a full disk.
        try FileManager.default.createSymbolicLink(atPath: dir.file("data/events.jsonl"), withDestinationPath: "/dev/full")
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        for n in 0..<3 {
            client.send(RawHTTPClient.post("/spp/main", sppBody(note: "\(n)")))
            let r = try #require(client.readResponse())
            #expect(r.status == 503)
            #expect(r.header("retry-after") == "5")
        }
        // The daemon logs before it answers; the test reads its stderr on a thread of its own.
        try waitFor { daemon.stderr.contains("event log write failed") }
    }

    @Test func gracefulStopExitsZero() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir)
        let client = try RawHTTPClient(port: daemon.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody()))
        #expect(client.readResponse()?.status == 200)
        #expect(daemon.stop(SIGTERM) == 0)
        #expect(daemon.stderr.contains("stopped"))
    }

    @Test func refusesToStartWithoutAnyUsableToken() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, environment: ["TEST_SPP_TOKEN": ""], start: false)
        #expect(throws: DaemonError.self) { try daemon.launch() }
        #expect(daemon.stderr.contains("endpoints[0].tokens: no token could be resolved"))
        #expect(daemon.process.terminationStatus == 1)
    }
}
