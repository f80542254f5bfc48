// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Intake pipeline: route, codings, body, token, envelope, classify")
struct IntakePipelineTests {
    static let pipeline = IntakePipeline(
        endpoints: [
            .init(name: "main", path: "/spp", tokens: TokenPolicy(tokens: ["s3cret"])),
            .init(name: "rotating", path: "/two", tokens: TokenPolicy(tokens: ["old", "new"])),
        ],
        classifier: EventClassifier(overrides: ["custom.thing": .tickets]))

    static func request(
        _ method: String = "POST", _ target: String = "/spp", body: String, headers: [(String, String)] = [("Content-Type", "application/json")],
        codings: [String] = []
    ) -> HTTPRequest {
        var h = HTTPHeaders()
        for (name, value) in headers { h.add(name: name, value: value) }
        return HTTPRequest(head: HTTPRequestHead(method: HTTPMethod(method), target: target, headers: h, extraTransferCodings: codings), body: Array(body.utf8))
    }

    static let good = #"{"event":"order.created","created":1,"token":"s3cret","data":{"id":"A1"}}"#

    /// What each request earns: (request, status, reason at the endpoint, or nil when accepted or not found).
    static let refusals: [(String, HTTPRequest, Int, IntakePipeline.Reason?)] = [
        ("unknown path", request(body: good).retargeted("/nope"), 404, nil),
        ("GET", request("GET", body: ""), 405, .method),
        ("gzip transfer coding", request(body: good, codings: ["gzip"]), 415, .encoding),
        ("gzip content coding", request(body: good, headers: [("Content-Encoding", "gzip")]), 415, .encoding),
        ("not JSON", request(body: "{nope"), 400, .body),
        ("an array", request(body: "[1]"), 400, .body),
        ("no token", request(body: #"{"event":"order.created"}"#), 401, .token),
        ("wrong token", request(body: #"{"event":"order.created","token":"guess"}"#), 401, .token),
        ("token not a string", request(body: #"{"event":"order.created","token":1}"#), 401, .token),
        // The token is checked before the envelope: an unauthenticated sender learns nothing about it.
        ("bad envelope, wrong token", request(body: #"{"token":"guess"}"#), 401, .token),
        ("no event", request(body: #"{"token":"s3cret"}"#), 400, .envelope),
        ("event not a string", request(body: #"{"event":5,"token":"s3cret"}"#), 400, .envelope),
    ]

    @Test(arguments: refusals)
    func refuses(_ name: String, _ request: HTTPRequest, _ status: Int, _ reason: IntakePipeline.Reason?) {
        switch Self.pipeline.decide(request) {
        case .notFound(let response):
            #expect(reason == nil)
            #expect(response.status == status)
        case .refused(let refusal):
            #expect(refusal.reason == reason)
            #expect(refusal.response.status == status)
            #expect(refusal.endpoint == "main")
        case .accepted:
            Issue.record("\(name) was accepted")
        }
    }

    @Test func aHeadAloneEarnsOnlyRoutingRefusals() {
        #expect(Self.pipeline.precheck(Self.request(body: "").head) == nil)
        #expect(Self.pipeline.precheck(Self.request(body: "").retargeted("/nope").head)?.status == 404)
        let get = Self.pipeline.precheck(Self.request("GET", body: "").head)
        #expect(get?.status == 405)
        #expect(get?.headers.contains { $0 == ("Allow", "POST") } == true)
    }

    @Test(arguments: [
        ("/spp", good, "main", EventCategory.orders),
        ("/spp?x=1", #"{"event":"custom.thing","token":"s3cret"}"#, "main", .tickets),
        ("/two", #"{"event":"brand.new.event","token":"new"}"#, "rotating", .other),
        ("/two", "event=invoice.paid&token=old&data%5Bid%5D=7", "rotating", .invoices),
    ])
    func acceptsAndClassifies(_ target: String, _ body: String, _ endpoint: String, _ category: EventCategory) throws {
        let contentType = body.hasPrefix("{") ? "application/json" : "application/x-www-form-urlencoded"
        let decision = Self.pipeline.decide(Self.request(body: body, headers: [("Content-Type", contentType)]).retargeted(target))
        guard case .accepted(let accepted) = decision else {
            Issue.record("refused: \(decision)")
            return
        }
        #expect(accepted.endpoint == endpoint)
        #expect(accepted.category == category)
        let stored = String(decoding: accepted.envelope.payloadJSON, as: UTF8.self)
        #expect(!stored.contains("token"))
    }

    @Test func aReloadedPipelineRoutesByItsOwnEndpoints() {
        let reloaded = IntakePipeline(endpoints: [.init(name: "moved", path: "/new", tokens: TokenPolicy(tokens: ["s3cret"]))], classifier: EventClassifier())
        guard case .notFound = reloaded.decide(Self.request(body: Self.good)) else {
            Issue.record("the old path still routes")
            return
        }
        guard case .accepted(let accepted) = reloaded.decide(Self.request(body: Self.good).retargeted("/new")) else {
            Issue.record("the new path does not route")
            return
        }
        #expect(accepted.endpoint == "moved")
    }

    /// The answers written straight into bytes say what the JSON writer would, for every
    /// category and the extremes of seq.
    @Test(arguments: [UInt64(0), 1, 42, 1_000_000_007, .max])
    func answersAreTheWritersJSON(_ seq: UInt64) throws {
        for category in EventCategory.allCases {
            var members: [JSONObject.Member] = [.init(key: "ok", value: .bool(true)), .init(key: "seq", value: .number(String(seq))),
                .init(key: "category", value: .string(category.rawValue))]
            #expect(IntakeAnswer.stored(seq: seq, category: category) == .json(200, .object(JSONObject(members))))
            members.insert(.init(key: "duplicate", value: .bool(true)), at: 1)
            #expect(IntakeAnswer.duplicate(seq: seq, category: category) == .json(200, .object(JSONObject(members))))
        }
    }

    @Test(arguments: [
        (HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: Array("{}\n".utf8)), false, false, nil,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{}\n"),
        (HTTPResponse(status: 503, headers: [("Retry-After", "5"), ("X-A", "b")], body: Array("no".utf8)), true, false,
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "HTTP/1.1 503 Service Unavailable\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nRetry-After: 5\r\nX-A: b\r\n"
                + "Content-Length: 2\r\nConnection: close\r\n\r\nno"),
        (HTTPResponse(status: 404, body: Array("abc".utf8)), false, true, nil, "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n"),
        (HTTPResponse(status: 299), false, false, nil, "HTTP/1.1 299 Status\r\nContent-Length: 0\r\n\r\n"),
    ] as [(HTTPResponse, Bool, Bool, String?, String)])
    func responseWireBytes(_ response: HTTPResponse, _ close: Bool, _ headOnly: Bool, _ date: String?, _ wire: String) {
        #expect(String(decoding: response.serialized(close: close, headOnly: headOnly, date: date), as: UTF8.self) == wire)
    }
}

extension HTTPRequest {
    fileprivate func retargeted(_ target: String) -> HTTPRequest {
        var copy = self
        copy.head.target = target
        return copy
    }
}
