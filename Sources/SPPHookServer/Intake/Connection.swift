// SPDX-License-Identifier: MIT
import CShims
import Glibc
import Logging
import SPPHookCore
import Synchronization

/// One client connection on an ``EventLoop``: readability feeds the push parser, one
/// request is in flight at a time (pipelined requests wait in the parser's buffer, so
/// responses keep their order), writability is watched only while the socket is full, and
/// the current phase's deadline is checked by the server's sweeper (a timer per
/// connection would be re-programmed several times per request).
///
/// All mutable state is confined to the loop's thread; that is what makes the
/// `@unchecked Sendable` sound. Handlers call back from other threads only through
/// `loop.execute`.
final class Connection: @unchecked Sendable {
    private enum Phase {
        case idle  // between requests
        case head  // a request has started; its head is incomplete
        case body  // head complete, body being read
        case handling  // the handler has the request
        case writing  // a response is being sent
        case lingering  // error sent; draining input before close
        case closed
    }

    let fd: Int32
    let loop: EventLoop
    private let transport: any ConnectionTransport
    /// Bytes of later requests kept while one is being handled, before reading pauses.
    static let maxBufferedWhileBusy = 64 * 1024

    /// When the current phase times out (monotonic ns); `Int64.max` while the handler works.
    let deadline = Atomic<Int64>(Int64.max)
    private var readSuspended = false
    private var writeSuspended = true
    private var parser: HTTPRequestParser
    private let handler: any HTTPRequestHandler
    private let timeouts: ConnectionTimeouts
    private let logger: Logger
    private let onClose: @Sendable () -> Void
    private var phase = Phase.idle {
        didSet { idleSince.store(phase == .idle && !isFirstRequest ? monotonicNanoseconds() : 0, ordering: .relaxed) }
    }
    /// When an idle keep-alive connection last finished a request (monotonic ns), else 0:
    /// read by the server, at the connection limit, to pick the connection to give up.
    let idleSince = Atomic<Int64>(0)
    /// Chosen for eviction already (so it is not chosen twice).
    let evicting = Atomic(false)
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var closeAfterWrite = false
    private var peerClosed = false
    private var draining = false
    private var isFirstRequest = true

    init(
        fd: Int32, transport: any ConnectionTransport, loop: EventLoop, limits: HTTPParserLimits,
        timeouts: ConnectionTimeouts, handler: any HTTPRequestHandler, logger: Logger, onClose: @escaping @Sendable () -> Void
    ) {
        self.fd = fd
        self.transport = transport
        self.loop = loop
        self.parser = HTTPRequestParser(limits: limits)
        self.handler = handler
        self.timeouts = timeouts
        self.logger = logger
        self.onClose = onClose
    }

    /// On the loop: starts watching the socket.
    func start() {
        // A fresh connection gets the header timeout: opening sockets and sending nothing
        // is the cheapest slow-client attack.
        arm(timeouts.header)
        let refused = loop.register(fd, events: UInt32(SPP_EPOLLIN)) { [self] events in
            if events & UInt32(SPP_EPOLLIN | SPP_EPOLLERR | SPP_EPOLLHUP) != 0 {
                if !readSuspended {
                    onReadable()  // errors and hang-ups show up as a failed or empty read
                } else if events & UInt32(SPP_EPOLLERR | SPP_EPOLLHUP) != 0 {
                    // Reported even when input is not watched: the peer is gone both ways,
                    // so no answer can reach it (and level-triggered, it would repeat).
                    return close()
                }
            }
            if events & UInt32(SPP_EPOLLOUT) != 0, phase != .closed { flush() }
        }
        if let refused { closeRefused("epoll_ctl(ADD)", refused) }
    }

    /// The kernel would not watch the socket: nobody could serve it, so it is closed.
    private func closeRefused(_ call: String, _ errno: Int32) {
        logger.error("cannot watch a connection; closed it", metadata: ["error": "\(call): \(String(cString: strerror(errno)))"])
        phase = .closed
        deadline.store(Int64.max, ordering: .relaxed)
        Glibc.close(fd)
        onClose()
    }

    /// The events to watch: input unless reading is paused, output while a write waits.
    private func updateInterest() {
        guard phase != .closed else { return }
        let events = (readSuspended ? 0 : UInt32(SPP_EPOLLIN)) | (writeSuspended ? 0 : UInt32(SPP_EPOLLOUT))
        if let refused = loop.modify(fd, events: events) {
            loop.unregister(fd)
            closeRefused("epoll_ctl(MOD)", refused)
        }
    }

    /// At the connection limit, the server makes room by closing the keep-alive connection
    /// idle the longest; it closes only if it is still idle by the time this runs.
    func evictIfIdle() {
        if phase == .idle && !isFirstRequest {
            logger.debug("closed an idle keep-alive connection to make room for a new one")
            close()
        } else {
            evicting.store(false, ordering: .relaxed)  // busy again: a candidate another time
        }
    }

    /// Graceful shutdown: close when idle, or right after the response in flight.
    func drain() {
        draining = true
        switch phase {
        case .idle: close()
        default: break
        }
    }

    // MARK: Reading

    private func onReadable() {
        if phase == .closed { return }
        var count: Int?
        var failed = false
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 8) { buffer in
            do {
                count = try transport.read(into: buffer)
                if let n = count, n > 0, phase != .lingering {
                    parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                }
                // TLS may hold decrypted bytes the socket will not signal again: take them now.
                while count.map({ $0 > 0 }) == true, transport.hasBufferedInput, let more = try transport.read(into: buffer), more > 0 {
                    if phase != .lingering { parser.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<more])) }
                }
            } catch {
                failed = true
            }
        }
        if failed { return close() }
        guard let n = count else { return }  // spurious wake-up
        if n == 0 {
            peerClosed = true
            suspendReading()
            if phase == .lingering { return close() }
            if phase == .idle || phase == .head || phase == .body { return process() }
            return  // handling/writing: finish the response, then close
        }
        if phase == .lingering { return }
        if (phase == .handling || phase == .writing) && parser.bufferedByteCount > Self.maxBufferedWhileBusy {
            suspendReading()  // a pipelining client far ahead of us: wait (resumed in awaitMoreInput)
        }
        process()
    }

    /// Parses what is buffered and acts on it. Runs only when no request is in flight.
    private func process() {
        while true {
            switch phase {
            case .handling, .writing, .lingering, .closed: return
            case .idle, .head, .body: break
            }
            let event: HTTPRequestParser.Event?
            do {
                event = try parser.next()
            } catch {
                logger.debug("bad request", metadata: ["reason": "\(error.reason)"])
                return respondAndLinger(.error(error.status, error.reason))
            }
            guard let event else {
                return awaitMoreInput()
            }
            switch event {
            case .head(let head):
                phase = .body
                arm(timeouts.body)
                // A client that asked for 100-continue is waiting: refuse now (and close,
                // since its body will not be read), or invite the body. Other bodies are
                // read (they are bounded) so the connection can stay open.
                if head.framing != .none, head.expectContinue {
                    if let early = handler.precheck(head) {
                        return respondAndLinger(early, headOnly: head.method == "HEAD")
                    }
                    output.append(contentsOf: HTTPResponse.continueBytes)
                    flush()
                    if phase == .closed { return }
                }
            case .request(let request):
                phase = .handling
                isFirstRequest = false
                disarm()
                // Reading stays on: a keep-alive client sends nothing until it has the answer,
                // and suspending and resuming the source would wake Dispatch's manager thread
                // twice per request. Pipelined bytes are buffered (bounded in onReadable).
                let head = request.head
                let close = !head.keepAlive || head.upgradeRequested
                let headOnly = head.method == "HEAD"
                handler.handle(request) { [self] response in
                    loop.execute { self.send(response, close: close, headOnly: headOnly) }
                }
            }
        }
    }

    private func awaitMoreInput() {
        if peerClosed {
            // Nothing more will arrive; a partial request can never complete.
            return close()
        }
        if parser.isIdle {
            if phase != .idle {
                phase = .idle
                arm(isFirstRequest ? timeouts.header : timeouts.idle)
            }
            if draining { return close() }
        } else if phase == .idle {
            phase = parser.isReadingBody ? .body : .head
            arm(parser.isReadingBody ? timeouts.body : timeouts.header)
        }
        resumeReading()
    }

    // MARK: Writing

    private func send(_ response: HTTPResponse, close: Bool, headOnly: Bool) {
        guard phase == .handling else { return }
        // A client that half-closed after pipelining still gets every answer: close now only
        // when nothing more is buffered (else after the last one, in awaitMoreInput).
        write(response, close: close || draining || (peerClosed && parser.bufferedByteCount == 0), headOnly: headOnly)
    }

    /// An error response, then a lingering close: stop parsing, send, half-close, and
    /// drain input for a moment so the client reads the response rather than a reset.
    private func respondAndLinger(_ response: HTTPResponse, headOnly: Bool = false) {
        write(response, close: true, headOnly: headOnly)
    }

    /// Queues a response and starts sending it; `close` ends the connection after it.
    private func write(_ response: HTTPResponse, close: Bool, headOnly: Bool) {
        phase = .writing
        closeAfterWrite = close
        output.append(contentsOf: response.serialized(close: close, headOnly: headOnly, date: DateCache.shared.current))
        arm(timeouts.body)
        flush()
    }

    private func flush() {
        while outputOffset < output.count {
            let sent: Int?
            do {
                let offset = outputOffset
                sent = try transport.send(output, from: offset)
            } catch {
                return close()
            }
            guard let sent else {
                if writeSuspended {
                    writeSuspended = false
                    updateInterest()
                }
                return
            }
            outputOffset += sent
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        outputOffset = 0
        if !writeSuspended {
            writeSuspended = true
            updateInterest()
        }
        guard phase == .writing else { return }  // an interim 100 Continue
        if closeAfterWrite { return linger() }
        phase = .idle
        arm(timeouts.idle)
        process()
    }

    private func linger() {
        transport.shutdownWrite()
        if peerClosed { return close() }
        phase = .lingering
        arm(timeouts.linger)
        resumeReading()
    }

    // MARK: Timeouts and closing

    /// Called by the server's sweeper when the deadline looked past: acts if it still is.
    func checkDeadline() {
        guard phase != .closed, monotonicNanoseconds() >= deadline.load(ordering: .relaxed) else { return }
        onTimeout()
    }

    private func onTimeout() {
        switch phase {
        case .head, .body:
            logger.debug("request timed out")
            respondAndLinger(.error(408, "request timed out"))
        case .idle, .writing, .lingering:
            close()
        case .handling, .closed:
            break
        }
    }

    private func arm(_ seconds: Double) {
        deadline.store(monotonicNanoseconds() + Int64(seconds * 1e9), ordering: .relaxed)
    }

    private func disarm() {
        deadline.store(Int64.max, ordering: .relaxed)
    }

    private func suspendReading() {
        if !readSuspended {
            readSuspended = true
            updateInterest()
        }
    }

    private func resumeReading() {
        if readSuspended && !peerClosed {
            readSuspended = false
            updateInterest()
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        deadline.store(Int64.max, ordering: .relaxed)
        loop.unregister(fd)
        Glibc.close(fd)
        onClose()
    }
}
