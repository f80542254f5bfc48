// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

/// The connection's rules without sockets or sleeps: the clock is a number the test sets.
@Suite("Connection state machine: timeouts, keep-alive, pipelining, half-close")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    static let s: Int64 = 1_000_000_000
    static let timeouts = ConnectionTimeouts(header: 10, body: 20, idle: 30, linger: 2)

    static func machine(at now: Int64 = 0) -> Machine {
        var m = Machine(limits: HTTPParserLimits(maxBodyBytes: 1 << 20), timeouts: timeouts)
        m.start(now: now)
        return m
    }

    static func post(_ body: String = "{}", version: String = "1.1", extra: String = "") -> String {
        "POST /spp HTTP/\(version)\r\nHost: a\r\nContent-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    /// The request of `actions`, which must be exactly one `.handle`.
    @discardableResult
    static func handled(_ actions: [Machine.Action]) -> HTTPRequest? {
        guard actions.count == 1, case .handle(let request) = actions[0] else {
            Issue.record("expected one request handed to the handler: \(actions)")
            return nil
        }
        return request
    }

    static func writes(_ actions: [Machine.Action]) -> [(status: Int, close: Bool)] {
        actions.compactMap { if case .write(let r, let close, _) = $0 { (r.status, close) } else { nil } }
    }

    static let ok = HTTPResponse(status: 200)

    // MARK: Timeouts

    /// (what arrives, when the deadline is, in seconds, and what happens when it passes)
    @Test(arguments: [
        ("", 10, "close"),  // opened, nothing sent: the header timeout, then a plain close
        ("POST /spp HTTP/1.1\r\nHo", 10, "408"),  // a head that stalls
        ("POST /spp HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n{\"a\"", 20, "408"),  // a body that stalls
    ])
    func phasesTimeOut(_ input: String, _ seconds: Int64, _ outcome: String) {
        var m = Self.machine()
        m.feed(Array(input.utf8))
        #expect(m.afterRead(now: 1).isEmpty)
        #expect(m.deadline == seconds * Self.s + (input.isEmpty ? 0 : 1))
        #expect(m.deadlinePassed(now: m.deadline - 1).isEmpty, "not before the deadline")
        let actions = m.deadlinePassed(now: m.deadline)
        if outcome == "close" {
            #expect(actions == [.close])
        } else {
            #expect(Self.writes(actions).map(\.status) == [408])
            #expect(Self.writes(actions).map(\.close) == [true])
            // Sent: half-close and linger, then close when the linger time is up.
            let t = m.deadline
            #expect(m.outputFlushed(now: t) == [.shutdownWrite])
            #expect(m.phase == .lingering && m.deadline == t + 2 * Self.s)
            #expect(m.deadlinePassed(now: t + 2 * Self.s) == [.close])
        }
    }

    @Test func theHandlersTimeIsNotBoundedButSendingIs() {
        var m = Self.machine()
        m.feed(Array(Self.post().utf8))
        Self.handled(m.afterRead(now: 0))
        #expect(m.deadline == .max)
        #expect(m.deadlinePassed(now: 1000 * Self.s).isEmpty)
        #expect(Self.writes(m.respond(Self.ok, now: 1000 * Self.s)).map(\.close) == [false])
        #expect(m.deadline == 1020 * Self.s, "the body timeout bounds a slow reader of the response")
        #expect(m.deadlinePassed(now: 1020 * Self.s) == [.close])
    }

    // MARK: Keep-alive

    @Test(arguments: [
        ("1.1", "", false),
        ("1.1", "Connection: close\r\n", true),
        ("1.0", "", true),
        ("1.0", "Connection: keep-alive\r\n", false),
    ])
    func keepAliveFollowsTheRequest(_ version: String, _ extra: String, _ closes: Bool) {
        var m = Self.machine()
        m.feed(Array(Self.post(version: version, extra: extra).utf8))
        Self.handled(m.afterRead(now: 0))
        #expect(Self.writes(m.respond(Self.ok, now: 5 * Self.s)).map(\.close) == [closes])
        let after = m.outputFlushed(now: 6 * Self.s)
        if closes {
            #expect(after == [.shutdownWrite] && m.phase == .lingering)
        } else {
            #expect(after.isEmpty && m.phase == .idle)
            #expect(m.deadline == 36 * Self.s && m.idleSince == 6 * Self.s)
            // Idle past the idle timeout: closed without an answer.
            #expect(m.deadlinePassed(now: 36 * Self.s) == [.close])
        }
    }

    @Test func onlyIdleKeepAliveConnectionsAreEvicted() {
        var m = Self.machine()
        #expect(m.evictIfIdle().isEmpty, "a connection that never sent a request is not a keep-alive one")
        m.feed(Array(Self.post().utf8))
        Self.handled(m.afterRead(now: 0))
        #expect(m.evictIfIdle().isEmpty, "busy")
        _ = m.respond(Self.ok, now: 0)
        _ = m.outputFlushed(now: 0)
        #expect(m.evictIfIdle() == [.close])
    }

    // MARK: Pipelining

    @Test func pipelinedRequestsAreAnsweredInOrderOneAtATime() {
        var m = Self.machine()
        m.feed(Array((Self.post("{\"n\":1}") + Self.post("{\"n\":2}")).utf8))
        let first = Self.handled(m.afterRead(now: 0))
        #expect(first?.body == Array("{\"n\":1}".utf8))
        #expect(m.afterRead(now: 0).isEmpty, "the second waits while the first is in flight")
        _ = m.respond(Self.ok, now: 0)
        let second = Self.handled(m.outputFlushed(now: 0))
        #expect(second?.body == Array("{\"n\":2}".utf8))
    }

    @Test func aClientFarAheadIsPausedAndResumed() {
        var m = Self.machine()
        m.feed(Array(Self.post().utf8))
        Self.handled(m.afterRead(now: 0))
        let big = String(repeating: "x", count: 70_000)
        m.feed(Array(Self.post(big).utf8))
        #expect(m.afterRead(now: 0) == [.pauseReading])
        #expect(m.readPaused)
        _ = m.respond(Self.ok, now: 0)
        Self.handled(m.outputFlushed(now: 0))  // the buffered request is complete
        _ = m.respond(Self.ok, now: 0)
        // Nothing left buffered: reading resumes.
        #expect(m.outputFlushed(now: 0) == [.resumeReading])
        #expect(!m.readPaused && m.phase == .idle)
    }

    // MARK: Half-close

    @Test func aHalfClosedClientGetsEveryPipelinedAnswer() {
        var m = Self.machine()
        m.feed(Array((Self.post() + Self.post()).utf8))
        Self.handled(m.afterRead(now: 0))
        #expect(m.peerClosedInput(now: 0) == [.pauseReading])
        #expect(Self.writes(m.respond(Self.ok, now: 0)).map(\.close) == [false], "more is buffered")
        Self.handled(m.outputFlushed(now: 0))
        #expect(Self.writes(m.respond(Self.ok, now: 0)).map(\.close) == [true], "the last answer closes")
        #expect(m.outputFlushed(now: 0) == [.shutdownWrite, .close])
    }

    @Test(arguments: ["", "POST /spp HTTP/1.1\r\nHost: a\r\n"])
    func eofBeforeARequestIsCompleteCloses(_ partial: String) {
        var m = Self.machine()
        m.feed(Array(partial.utf8))
        _ = m.afterRead(now: 0)
        #expect(m.peerClosedInput(now: 0) == [.pauseReading, .close])
        #expect(m.isClosed)
    }

    // MARK: Errors, 100-continue, draining

    @Test func aBadRequestIsAnsweredThenLingers() {
        var m = Self.machine()
        m.feed(Array("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n".utf8))
        let actions = m.afterRead(now: 0)
        #expect(Self.writes(actions).map(\.status) == [400] && Self.writes(actions).map(\.close) == [true])
        m.feed(Array("more garbage".utf8))
        #expect(m.afterRead(now: 0).isEmpty, "input after an error is only drained")
        #expect(m.peerClosedInput(now: 0) == [.pauseReading])
        #expect(m.outputFlushed(now: 0) == [.shutdownWrite, .close], "the peer is gone: no lingering")
    }

    @Test(arguments: [true, false])
    func expectContinueAsksTheHandlerFirst(_ refuse: Bool) {
        var m = Self.machine()
        m.feed(Array(Self.post(extra: "Expect: 100-continue\r\n").utf8.prefix { $0 != UInt8(ascii: "{") }))
        let actions = m.afterRead(now: 0)
        guard case .precheck(let head)? = actions.first, actions.count == 1 else {
            Issue.record("expected a precheck: \(actions)")
            return
        }
        #expect(head.expectContinue)
        if refuse {
            let refusal = m.prechecked(.error(401, "no"), now: 0)
            #expect(Self.writes(refusal).map(\.status) == [401] && Self.writes(refusal).map(\.close) == [true])
        } else {
            #expect(m.prechecked(nil, now: 0) == [.writeContinue])
            #expect(m.outputFlushed(now: 0).isEmpty, "an interim response is not the answer")
            m.feed(Array("{}".utf8))
            Self.handled(m.afterRead(now: 0))
        }
    }

    @Test func drainingClosesOnceIdle() {
        var m = Self.machine()
        m.feed(Array(Self.post().utf8))
        Self.handled(m.afterRead(now: 0))
        #expect(m.drain().isEmpty, "the request in flight is answered first")
        #expect(Self.writes(m.respond(Self.ok, now: 0)).map(\.close) == [true])
        var idle = Self.machine()
        #expect(idle.drain() == [.close])
    }
}
