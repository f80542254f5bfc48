// SPDX-License-Identifier: MIT

/// What one client connection does, decided without sockets: the event loop feeds it what
/// happened (bytes read, the peer's half-close, a response from the handler, output sent,
/// the clock passing a deadline) and executes the ``Action``s it returns, in order.
///
/// The rules: one request in flight at a time (pipelined requests wait in the parser's
/// buffer, so responses keep their order, and reading pauses when more than
/// ``maxBufferedWhileBusy`` bytes wait); each phase has its deadline (the header timeout
/// from the connection's opening and from a request's first byte, the body timeout for the
/// body and for sending a response, the idle timeout between requests, the linger time
/// after an error); an error response closes with a lingering half-close; a client that
/// half-closed after pipelining still gets every answer; draining closes once idle.
public struct ConnectionStateMachine: Sendable {
    public enum Phase: Sendable, Equatable {
        case idle  // between requests
        case head  // a request has started; its head is incomplete
        case body  // head complete, body being read
        case handling  // the handler has the request
        case writing  // a response is being sent
        case lingering  // error sent; draining input before close
        case closed
    }

    public enum Action: Sendable, Equatable {
        /// Serialize and send (`close` adds `Connection: close`; `headOnly`: no body).
        case write(HTTPResponse, close: Bool, headOnly: Bool)
        /// Send `100 Continue`.
        case writeContinue
        /// Ask the handler whether to take this body; answer with ``prechecked(_:now:)``.
        case precheck(HTTPRequestHead)
        /// Hand the request to the handler; answer with ``respond(_:now:)``.
        case handle(HTTPRequest)
        case pauseReading
        case resumeReading
        /// Half-close: no more output.
        case shutdownWrite
        case close
        /// A line for the debug log.
        case note(String)
    }

    /// Bytes of later requests kept while one is being handled, before reading pauses.
    public static let maxBufferedWhileBusy = 64 * 1024

    public private(set) var phase = Phase.idle
    /// When the current phase times out (monotonic ns); `Int64.max` while the handler works.
    public private(set) var deadline = Int64.max
    /// When an idle keep-alive connection last finished a request (monotonic ns), else 0:
    /// at the connection limit, the server gives up the connection idle the longest.
    public private(set) var idleSince: Int64 = 0
    public private(set) var readPaused = false
    private var parser: HTTPRequestParser
    private let timeouts: ConnectionTimeouts
    private var closeAfterWrite = false
    private var peerClosed = false
    private var draining = false
    private var isFirstRequest = true
    /// The request in flight: whether its response closes, and whether it was HEAD.
    private var inFlight = (close: false, headOnly: false)
    /// The head waiting for ``prechecked(_:now:)``.
    private var awaitingPrecheck: HTTPRequestHead?

    public init(limits: HTTPParserLimits, timeouts: ConnectionTimeouts) {
        self.parser = HTTPRequestParser(limits: limits)
        self.timeouts = timeouts
    }

    public var isClosed: Bool { phase == .closed }

    /// A fresh connection gets the header timeout: opening sockets and sending nothing is
    /// the cheapest slow-client attack.
    public mutating func start(now: Int64) {
        arm(timeouts.header, now)
    }

    /// Bytes read from the socket (ignored while lingering: they are only drained).
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        if phase != .lingering && phase != .closed { parser.feed(bytes) }
    }

    public mutating func feed(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// After one or more ``feed(_:)`` calls from one readable event.
    public mutating func afterRead(now: Int64) -> [Action] {
        guard phase != .lingering && phase != .closed else { return [] }
        var actions: [Action] = []
        if (phase == .handling || phase == .writing) && parser.bufferedByteCount > Self.maxBufferedWhileBusy {
            actions += pauseReading()  // a pipelining client far ahead of us: wait (resumed in awaitMoreInput)
        }
        return actions + process(now)
    }

    /// The peer sent EOF (a half-close, or gone).
    public mutating func peerClosedInput(now: Int64) -> [Action] {
        guard phase != .closed else { return [] }
        peerClosed = true
        let actions = pauseReading()
        switch phase {
        case .lingering: return actions + close()
        case .idle, .head, .body: return actions + process(now)
        case .handling, .writing, .closed: return actions  // finish the response, then close
        }
    }

    /// The handler's answer to ``Action/precheck(_:)``: a refusal (sent, then the
    /// connection closes since the body will not be read) or nil to invite the body.
    public mutating func prechecked(_ refusal: HTTPResponse?, now: Int64) -> [Action] {
        guard let head = awaitingPrecheck, phase == .body else { return [] }
        awaitingPrecheck = nil
        if let refusal { return write(refusal, close: true, headOnly: head.method == .head, now) }
        return [.writeContinue] + process(now)
    }

    /// The handler's response to the request in flight.
    public mutating func respond(_ response: HTTPResponse, now: Int64) -> [Action] {
        guard phase == .handling else { return [] }
        // A client that half-closed after pipelining still gets every answer: close now only
        // when nothing more is buffered (else after the last one, in awaitMoreInput).
        let close = inFlight.close || draining || (peerClosed && parser.bufferedByteCount == 0)
        return write(response, close: close, headOnly: inFlight.headOnly, now)
    }

    /// Everything queued was sent.
    public mutating func outputFlushed(now: Int64) -> [Action] {
        guard phase == .writing else { return [] }  // an interim 100 Continue
        if closeAfterWrite { return linger(now) }
        enter(.idle, now)
        arm(timeouts.idle, now)
        return process(now)
    }

    /// The sweeper saw the deadline pass; acts if it still has.
    public mutating func deadlinePassed(now: Int64) -> [Action] {
        guard phase != .closed, now >= deadline else { return [] }
        switch phase {
        case .head, .body: return [.note("request timed out")] + write(.error(408, "request timed out"), close: true, headOnly: false, now)
        case .idle, .writing, .lingering: return close()
        case .handling, .closed: return []
        }
    }

    /// Graceful shutdown: close when idle, or right after the response in flight.
    public mutating func drain() -> [Action] {
        draining = true
        return phase == .idle ? close() : []
    }

    /// At the connection limit: close if this is still an idle keep-alive connection.
    public mutating func evictIfIdle() -> [Action] {
        phase == .idle && !isFirstRequest ? close() : []
    }

    public mutating func close() -> [Action] {
        guard phase != .closed else { return [] }
        enter(.closed, 0)
        deadline = .max
        return [.close]
    }

    // MARK: Internals

    /// Parses what is buffered and acts on it. Acts only when no request is in flight.
    private mutating func process(_ now: Int64) -> [Action] {
        while true {
            switch phase {
            case .handling, .writing, .lingering, .closed: return []
            case .idle, .head, .body: break
            }
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                return [.note("bad request: \(error.reason)")] + write(.error(error.status, error.reason), close: true, headOnly: false, now)
            }
            guard let event else { return awaitMoreInput(now) }
            switch event {
            case .head(let head):
                enter(.body, now)
                arm(timeouts.body, now)
                // A client that asked for 100-continue is waiting: the handler decides. Other
                // bodies are read (they are bounded) so the connection can stay open.
                if head.framing != .none, head.expectContinue {
                    awaitingPrecheck = head
                    return [.precheck(head)]
                }
            case .request(let request):
                enter(.handling, now)
                isFirstRequest = false
                deadline = .max
                let head = request.head
                inFlight = (!head.keepAlive || head.upgradeRequested, head.method == .head)
                return [.handle(request)]
            }
        }
    }

    private mutating func awaitMoreInput(_ now: Int64) -> [Action] {
        // Nothing more will arrive; a partial request can never complete.
        if peerClosed { return close() }
        if parser.isIdle {
            if phase != .idle {
                enter(.idle, now)
                arm(isFirstRequest ? timeouts.header : timeouts.idle, now)
            }
            if draining { return close() }
        } else if phase == .idle {
            enter(parser.isReadingBody ? .body : .head, now)
            arm(parser.isReadingBody ? timeouts.body : timeouts.header, now)
        }
        return resumeReading()
    }

    private mutating func write(_ response: HTTPResponse, close: Bool, headOnly: Bool, _ now: Int64) -> [Action] {
        enter(.writing, now)
        closeAfterWrite = close
        arm(timeouts.body, now)
        return [.write(response, close: close, headOnly: headOnly)]
    }

    /// After an error response: half-close and drain input for a moment, so the client
    /// reads the response rather than a reset.
    private mutating func linger(_ now: Int64) -> [Action] {
        if peerClosed { return [.shutdownWrite] + close() }
        enter(.lingering, now)
        arm(timeouts.linger, now)
        return [.shutdownWrite] + resumeReading()
    }

    private mutating func pauseReading() -> [Action] {
        guard !readPaused else { return [] }
        readPaused = true
        return [.pauseReading]
    }

    private mutating func resumeReading() -> [Action] {
        guard readPaused && !peerClosed else { return [] }
        readPaused = false
        return [.resumeReading]
    }

    private mutating func enter(_ next: Phase, _ now: Int64) {
        phase = next
        idleSince = next == .idle && !isFirstRequest ? now : 0
    }

    private mutating func arm(_ seconds: Double, _ now: Int64) {
        deadline = now + Int64(seconds * 1e9)
    }
}
