// SPDX-License-Identifier: MIT
import FuzzChecks
import SPPHookCore
import Testing

@Suite("HTTP/1.1 request parser")
struct HTTPParserTests {
    struct Golden: CustomTestStringConvertible, Sendable {
        var name: String
        var raw: String
        /// (method, path, body) for each complete request
        var expect: [(String, String, String)]
        var error: HTTPParseError?
        var testDescription: String { name }
    }

    static let golden: [Golden] = [
        Golden(name: "minimal GET", raw: "GET / HTTP/1.1\r\nHost: a\r\n\r\n", expect: [("GET", "/", "")]),
        Golden(name: "POST with Content-Length",
            raw: "POST /spp/main HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", expect: [("POST", "/spp/main", "hello")]),
        Golden(name: "chunked with extension and trailer",
            raw: "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            expect: [("POST", "/x", "hello world")]),
        Golden(name: "pipelined three", raw:
            "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nA" + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
            + "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nC\r\n0\r\n\r\n",
            expect: [("POST", "/a", "A"), ("GET", "/b", ""), ("POST", "/c", "C")]),
        Golden(name: "leading CRLF ignored", raw: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", expect: [("GET", "/", "")]),
        Golden(name: "absolute-form target", raw: "GET http://h.example:8080/spp/main?x=1 HTTP/1.1\r\nHost: h\r\n\r\n",
            expect: [("GET", "/spp/main", "")]),
        Golden(name: "query and fragment stripped from path", raw: "GET /p?q=1#f HTTP/1.1\r\nHost: a\r\n\r\n", expect: [("GET", "/p", "")]),
        Golden(name: "HTTP/1.0 closes after first", raw: "GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n", expect: [("GET", "/", "")]),
        Golden(name: "HTTP/1.0 keep-alive continues",
            raw: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n", expect: [("GET", "/", ""), ("GET", "/2", "")]),
        Golden(name: "same Content-Length twice is accepted",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", expect: [("POST", "/", "ok")]),
        Golden(name: "obs-text in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: caf\u{e9}\r\n\r\n", expect: [("GET", "/", "")]),
        Golden(name: "Content-Length with TE is refused",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", expect: [],
            error: .contentLengthWithTransferEncoding),
        Golden(name: "conflicting Content-Length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            expect: [], error: .conflictingContentLength),
        Golden(name: "Content-Length list conflict", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n",
            expect: [], error: .conflictingContentLength),
        Golden(name: "negative Content-Length", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            expect: [], error: .invalidContentLength),
        Golden(name: "Content-Length overflow", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            expect: [], error: .invalidContentLength),
        Golden(name: "TE not ending in chunked", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            expect: [], error: .chunkedNotFinal),
        Golden(name: "unknown TE", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: pigeons\r\n\r\n",
            expect: [], error: .unknownTransferCoding),
        Golden(name: "chunk size overflow",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", expect: [],
            error: .bodyTooLarge),
        Golden(name: "chunk size with space", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n",
            expect: [], error: .invalidChunkSize),
        Golden(name: "chunk data without CRLF", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n",
            expect: [], error: .invalidChunkTerminator),
        Golden(name: "empty chunk extension", raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;\r\nhello\r\n0\r\n\r\n",
            expect: [], error: .invalidChunkExtension),
        Golden(name: "bare LF line ending", raw: "GET / HTTP/1.1\nHost: a\n\n", expect: [], error: .invalidLineEnding),
        Golden(name: "bare CR in header", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", expect: [], error: .invalidLineEnding),
        Golden(name: "obs-fold", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", expect: [], error: .obsoleteLineFolding),
        Golden(name: "whitespace before colon", raw: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", expect: [], error: .invalidHeaderName),
        Golden(name: "non-token header name", raw: "GET / HTTP/1.1\r\nHost: a\r\nF@o: b\r\n\r\n", expect: [], error: .invalidHeaderName),
        Golden(name: "control character in value", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: a\u{1}b\r\n\r\n", expect: [],
            error: .invalidHeaderValue),
        Golden(name: "missing Host on 1.1", raw: "GET / HTTP/1.1\r\n\r\n", expect: [], error: .missingHost),
        Golden(name: "two Host headers", raw: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", expect: [], error: .duplicateHost),
        Golden(name: "HTTP/2.0 in request line", raw: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", expect: [], error: .unsupportedVersion),
        Golden(name: "garbage version", raw: "GET / HTTX/1.1\r\nHost: a\r\n\r\n", expect: [], error: .invalidVersion),
        Golden(name: "space in target", raw: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", expect: [], error: .invalidVersion),
        Golden(name: "relative target", raw: "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", expect: [], error: .invalidTarget),
        Golden(name: "HTTP/0.9 request", raw: "GET /\r\n\r\n", expect: [], error: .invalidRequestLine),
        Golden(name: "RTSP/1.0 with an RTSP method is answered, then closed",
               raw: "ANNOUNCE /music RTSP/1.0\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", expect: [("ANNOUNCE", "/music", "")]),
        Golden(name: "ICE/1.0 SOURCE", raw: "SOURCE /live ICE/1.0\r\nHost: a\r\n\r\n", expect: [("SOURCE", "/live", "")]),
        Golden(name: "RTSP with an HTTP-only method", raw: "PUT /music RTSP/1.0\r\nHost: a\r\n\r\n", expect: [], error: .invalidMethod),
        Golden(name: "ICE with another method", raw: "GET /live ICE/1.0\r\nHost: a\r\n\r\n", expect: [], error: .invalidMethod),
        Golden(name: "an RTSP-only method over HTTP", raw: "DESCRIBE / HTTP/1.1\r\nHost: a\r\n\r\n", expect: [], error: .unknownMethod),
        Golden(name: "RTSP/2.0", raw: "OPTIONS * RTSP/2.0\r\nHost: a\r\n\r\n", expect: [], error: .unsupportedVersion),
    ]

    static func check(_ outcome: ParseOutcome, _ g: Golden, _ how: String) {
        #expect(outcome.error == g.error, "\(how): \(outcome)")
        let got = outcome.requests.map { ($0.head.method, $0.head.path, String(decoding: $0.body, as: UTF8.self)) }
        #expect(got.map { "\($0.0) \($0.1) \($0.2)" } == g.expect.map { "\($0.0) \($0.1) \($0.2)" }, "\(how)")
    }

    @Test(arguments: [
        ("/spp/main", "/spp/main"), ("/spp/main?x=1", "/spp/main"), ("/a#frag", "/a"), ("/", "/"), ("/a/b/?q#f", "/a/b/"),
        ("http://h.example:8080/spp/main?x=1", "/spp/main"), ("http://h.example", "/"), ("http://h.example?q", "/"),
        ("HTTP://h/x", "/x"), ("*", "*"),
    ])
    func pathOfTheTarget(_ target: String, _ path: String) {
        #expect(HTTPRequestHead(method: "POST", target: target).path == path)
    }

    /// Only ASCII letters fold: `[` is not `{`, `@` is not a backquote, `É` is not `é`.
    @Test(arguments: [
        ("Content-Length", "content-length", true), ("HOST", "host", true), ("host", "hosts", false), ("", "", true),
        ("[", "{", false), ("@", "`", false), ("É", "é", false), ("x-É", "X-É", true), ("transfer-encodinG", "Transfer-Encoding", true),
    ])
    func headerNamesCompareIgnoringASCIICase(_ a: String, _ b: String, _ equal: Bool) {
        #expect(asciiCaseInsensitiveEquals(a, b) == equal)
        #expect(asciiCaseInsensitiveEquals(b, a) == equal)
    }

    @Test(arguments: golden)
    func wholeAndByteAtATime(_ g: Golden) {
        Self.check(ParserHarness.whole(g.raw.bytes), g, "whole")
        Self.check(ParserHarness.byteAtATime(g.raw.bytes), g, "byte at a time")
    }

    @Test(arguments: golden)
    func splitAtEveryIndex(_ g: Golden) {
        for (i, outcome) in ParserHarness.everySplit(g.raw.bytes) {
            Self.check(outcome, g, "split at \(i)")
        }
    }

    @Test func incompleteInputAsksForMore() throws {
        var p = HTTPRequestParser()
        p.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc".bytes)
        #expect(try p.next() != nil)  // head
        #expect(try p.next() == nil)
        #expect(!p.isIdle)
        #expect(p.isReadingBody)
    }

    @Test func headEventComesBeforeBody() throws {
        var p = HTTPRequestParser()
        p.feed("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".bytes)
        guard case .head(let head)? = try p.next() else {
            Issue.record("expected head")
            return
        }
        #expect(head.expectContinue)
        #expect(head.framing == .length(2))
        #expect(try p.next() == nil)
        p.feed("ok".bytes)
        guard case .request(let r)? = try p.next() else {
            Issue.record("expected request")
            return
        }
        #expect(r.body == "ok".bytes)
        #expect(p.isIdle)
    }

    struct LimitCase: Sendable, CustomTestStringConvertible {
        var name: String
        var raw: String
        var limits: HTTPParserLimits
        var error: HTTPParseError
        var testDescription: String { name }
    }

    static let limitCases: [LimitCase] = [
        LimitCase(name: "request line too long", raw: "GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n",
            limits: HTTPParserLimits(maxRequestLineBytes: 100), error: .requestLineTooLong),
        LimitCase(name: "header section too large", raw: "GET / HTTP/1.1\r\nHost: a\r\nX: " + String(repeating: "b", count: 2000) + "\r\n\r\n",
            limits: HTTPParserLimits(maxHeaderBytes: 1024), error: .headerSectionTooLarge),
        LimitCase(name: "unterminated header section too large", raw: "GET / HTTP/1.1\r\nX: " + String(repeating: "b", count: 2000),
            limits: HTTPParserLimits(maxHeaderBytes: 1024), error: .headerSectionTooLarge),
        LimitCase(name: "too many headers", raw: "GET / HTTP/1.1\r\nHost: a\r\n" + String(repeating: "X: y\r\n", count: 20) + "\r\n",
            limits: HTTPParserLimits(maxHeaderCount: 10), error: .tooManyHeaders),
        LimitCase(name: "Content-Length over body limit", raw: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n",
            limits: HTTPParserLimits(maxBodyBytes: 1000), error: .bodyTooLarge),
        LimitCase(name: "chunked body over limit",
            raw: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + String(repeating: "z", count: 512)
                + "\r\n200\r\n" + String(repeating: "z", count: 512) + "\r\n0\r\n\r\n",
            limits: HTTPParserLimits(maxBodyBytes: 1000), error: .bodyTooLarge),
    ]

    @Test(arguments: limitCases)
    func limitsAreEnforced(_ c: LimitCase) {
        #expect(ParserHarness.whole(c.raw.bytes, limits: c.limits).error == c.error)
        #expect(ParserHarness.byteAtATime(c.raw.bytes, limits: c.limits).error == c.error)
    }

    @Test(arguments: [
        (HTTPParseError.requestLineTooLong, 414), (.headerSectionTooLarge, 431), (.tooManyHeaders, 431),
        (.bodyTooLarge, 413), (.unsupportedVersion, 505), (.unknownTransferCoding, 501),
        (.contentLengthWithTransferEncoding, 400), (.obsoleteLineFolding, 400), (.invalidLineEnding, 400),
    ])
    func errorsMapToStatus(_ error: HTTPParseError, _ status: Int) {
        #expect(error.status == status)
    }

    @Test func keepAliveRules() throws {
        let cases: [(String, Bool)] = [
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", true),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", false),
            ("GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", false),
            ("GET / HTTP/1.0\r\n\r\n", false),
            ("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true),
            ("POST / HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false),
        ]
        for (raw, keepAlive) in cases {
            let outcome = ParserHarness.whole(raw.bytes)
            #expect(outcome.requests.first?.head.keepAlive == keepAlive, "\(raw)")
        }
    }

    @Test func byteAtATimeStaysLinear() {
        // A large body fed one byte at a time must not rescan the buffer (this would take
        // minutes if it were quadratic).
        let body = String(repeating: "x", count: 200_000)
        let raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        let outcome = ParserHarness.byteAtATime(raw.bytes, limits: HTTPParserLimits(maxBodyBytes: 1 << 20))
        #expect(outcome.requests.first?.body.count == 200_000)
    }
}
