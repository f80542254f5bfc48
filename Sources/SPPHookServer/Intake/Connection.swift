// SPDX-License-Identifier: MIT
import CShims
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// One client connection on an ``EventLoop``: the socket side of a
/// ``ConnectionStateMachine``. Readability feeds the machine, which decides; this class
/// executes its actions (send, hand to the handler, pause reading, half-close, close).
/// Writability is watched only while the socket is full, and the machine's deadline is
/// published for the server's sweeper (a timer per connection would be re-programmed
/// several times per request).
///
/// All mutable state is confined to the loop's thread; that is what makes the
/// `@unchecked Sendable` sound. Handlers call back from other threads only through
/// `loop.execute`.
final class Connection: @unchecked Sendable {
    let fd: Int32
    let loop: EventLoop
    private let transport: any ConnectionTransport
    private var machine: ConnectionStateMachine
    /// The machine's deadline (monotonic ns), for the sweeper on another thread.
    let deadline = Atomic<Int64>(Int64.max)
    /// The machine's `idleSince`, for the server choosing a connection to give up.
    let idleSince = Atomic<Int64>(0)
    /// Chosen for eviction already (so it is not chosen twice).
    let evicting = Atomic(false)

    /// This connection with the time it became idle, when it is idle between requests and
    /// not being closed already: a candidate for ``Admission``.
    var idleCandidate: (Connection, since: Int64)? {
        let since = idleSince.load(ordering: .relaxed)
        return since != 0 && !evicting.load(ordering: .relaxed) ? (self, since) : nil
    }
    private let handler: any HTTPRequestHandler
    private let logger: Logger
    private let onClose: @Sendable () -> Void
    private var output: [UInt8] = []
    private var outputOffset = 0
    private var watchingWrite = false
    private var socketClosed = false

    init(
        fd: Int32, transport: any ConnectionTransport, loop: EventLoop, limits: HTTPParserLimits,
        timeouts: ConnectionTimeouts, handler: any HTTPRequestHandler, logger: Logger, onClose: @escaping @Sendable () -> Void
    ) {
        self.fd = fd
        self.transport = transport
        self.loop = loop
        self.machine = ConnectionStateMachine(limits: limits, timeouts: timeouts)
        self.handler = handler
        self.logger = logger
        self.onClose = onClose
    }

    /// On the loop: starts watching the socket.
    func start() {
        machine.start(now: monotonicNanoseconds())
        publish()
        let refused = loop.register(fd, events: UInt32(SPP_EPOLLIN)) { [self] events in
            if events & UInt32(SPP_EPOLLIN | SPP_EPOLLERR | SPP_EPOLLHUP) != 0 {
                if !machine.readPaused {
                    onReadable()  // errors and hang-ups show up as a failed or empty read
                } else if events & UInt32(SPP_EPOLLERR | SPP_EPOLLHUP) != 0 {
                    // Reported even when input is not watched: the peer is gone both ways,
                    // so no answer can reach it (and level-triggered, it would repeat).
                    return close()
                }
            }
            if events & UInt32(SPP_EPOLLOUT) != 0, !socketClosed { flush() }
        }
        if let refused { closeRefused("epoll_ctl(ADD)", refused) }
    }

    /// At the connection limit, the server makes room by closing the keep-alive connection
    /// idle the longest; it closes only if it is still idle by the time this runs.
    func evictIfIdle() {
        let actions = machine.evictIfIdle()
        guard !actions.isEmpty else {
            evicting.store(false, ordering: .relaxed)  // busy again: a candidate another time
            return
        }
        logger.debug("closed an idle keep-alive connection to make room for a new one")
        run(actions)
    }

    /// Graceful shutdown: close when idle, or right after the response in flight.
    func drain() { run(machine.drain()) }

    /// Called by the server's sweeper when the deadline looked past: acts if it still is.
    func checkDeadline() { run(machine.deadlinePassed(now: monotonicNanoseconds())) }

    func close() { run(machine.close()) }

    // MARK: Executing the machine's actions

    private func run(_ actions: [ConnectionStateMachine.Action]) {
        for action in actions {
            guard !socketClosed else { break }  // an I/O error closed it: the rest is moot
            switch action {
            case .write(let response, let close, let headOnly):
                output.append(contentsOf: response.serialized(close: close, headOnly: headOnly, date: DateCache.shared.current))
                flush()
            case .writeContinue:
                output.append(contentsOf: HTTPResponse.continueBytes)
                flush()
            case .precheck(let head):
                run(machine.prechecked(handler.precheck(head), now: monotonicNanoseconds()))
            case .handle(let request):
                handler.handle(request) { [self] response in
                    loop.execute { self.run(self.machine.respond(response, now: monotonicNanoseconds())) }
                }
            case .pauseReading, .resumeReading:
                updateInterest()
            case .shutdownWrite:
                transport.shutdownWrite()
            case .close:
                closeSocket()
            case .note(let text):
                logger.debug("\(text)")
            }
        }
        publish()
    }

    private func publish() {
        deadline.store(machine.deadline, ordering: .relaxed)
        idleSince.store(machine.idleSince, ordering: .relaxed)
    }

    private func onReadable() {
        if socketClosed { return }
        var count: Int?
        var failed = false
        withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 8) { buffer in
            do {
                count = try transport.read(into: buffer)
                if let n = count, n > 0 { machine.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
                // TLS may hold decrypted bytes the socket will not signal again: take them now.
                while count.map({ $0 > 0 }) == true, transport.hasBufferedInput, let more = try transport.read(into: buffer), more > 0 {
                    machine.feed(UnsafeRawBufferPointer(rebasing: buffer[0..<more]))
                }
            } catch {
                failed = true
            }
        }
        if failed { return close() }
        guard let n = count else { return }  // spurious wake-up
        let now = monotonicNanoseconds()
        run(n == 0 ? machine.peerClosedInput(now: now) : machine.afterRead(now: now))
    }

    private func flush() {
        while outputOffset < output.count {
            let sent: Int?
            do {
                sent = try transport.send(output, from: outputOffset)
            } catch {
                return close()
            }
            guard let sent else {
                if !watchingWrite {
                    watchingWrite = true
                    updateInterest()
                }
                return
            }
            outputOffset += sent
        }
        output.removeAll(keepingCapacity: output.capacity <= 64 * 1024)
        outputOffset = 0
        if watchingWrite {
            watchingWrite = false
            updateInterest()
        }
        run(machine.outputFlushed(now: monotonicNanoseconds()))
    }

    /// The events to watch: input unless the machine paused reading, output while a write waits.
    private func updateInterest() {
        guard !socketClosed else { return }
        let events = (machine.readPaused ? 0 : UInt32(SPP_EPOLLIN)) | (watchingWrite ? UInt32(SPP_EPOLLOUT) : 0)
        if let refused = loop.modify(fd, events: events) {
            loop.unregister(fd)
            closeRefused("epoll_ctl(MOD)", refused)
        }
    }

    /// The kernel would not watch the socket: nobody could serve it, so it is closed.
    private func closeRefused(_ call: String, _ errno: Int32) {
        logger.error("cannot watch a connection; closed it", metadata: ["error": "\(call): \(String(cString: strerror(errno)))"])
        _ = machine.close()
        socketClosed = true
        Glibc.close(fd)
        onClose()
        publish()
    }

    private func closeSocket() {
        guard !socketClosed else { return }
        socketClosed = true
        loop.unregister(fd)
        Glibc.close(fd)
        onClose()
    }
}
