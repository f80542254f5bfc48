// SPDX-License-Identifier: MIT
import CShims
import Glibc
public import Logging
public import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// Accepts connections on listening sockets (bound from config or passed by systemd, TCP
/// or unix) and runs each as a ``Connection``.
///
/// At `maxConnections`, ``Admission`` decides: the keep-alive connection idle the longest
/// is closed to make room, or the newcomer gets a 503.
///
/// Listening sockets are watched by an ``EventLoop`` of their own (the accept loop); a
/// ``WorkerThread`` checks deadlines and re-arms a listener after an accept error.
///
/// `@unchecked Sendable`: the loops and the worker are thread-safe objects and every other
/// mutable state sits behind a `Mutex`.
public final class HTTPServer: @unchecked Sendable {
    public struct Settings: Sendable {
        public var parserLimits: HTTPParserLimits
        public var timeouts: ConnectionTimeouts
        public var maxConnections: Int
        /// TLS for every connection accepted from now on (nil: plain HTTP).
        public var tls: TLSServerContext?

        public init(parserLimits: HTTPParserLimits, timeouts: ConnectionTimeouts, maxConnections: Int, tls: TLSServerContext? = nil) {
            self.parserLimits = parserLimits
            self.timeouts = timeouts
            self.maxConnections = maxConnections
            self.tls = tls
        }

        public init(_ limits: DaemonConfig.Limits, tls: TLSServerContext? = nil) {
            self.init(parserLimits: limits.parserLimits, timeouts: ConnectionTimeouts(limits), maxConnections: limits.maxConnections,
                tls: tls)
        }
    }

    public let listenFDs: [Int32]
    private let acceptLoop: EventLoop
    /// Connections are spread over these (see ``EventLoop``).
    private let loops: [EventLoop]
    private let nextLoop = Atomic(0)

    /// Half the cores (at least one): the rest is for the event log's writer, the sinks, and
    /// on small machines whatever else runs there (on 2 cores, two loops compete with the
    /// log writer and a file sink, and serve less than one: `make bench`).
    public static var defaultLoops: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)) / 2) }
    private let handler: any HTTPRequestHandler
    /// Read at each accept, so a reload applies to new connections.
    private let settings: Mutex<Settings>
    private let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])
    /// Notified when the last connection closes (``shutdown(timeout:)`` waits on it).
    private let allClosed = Signal()
    private let accepting = Mutex(true)
    /// Checks every connection's deadline four times a second.
    private let sweeper = WorkerThread(name: "intake-sweeper")
    private let sweeping = Atomic(true)
    public static let sweepInterval = 0.25

    private static let overloaded = HTTPResponse.overloaded.serialized(close: true)

    public init(listenFDs: [Int32], handler: any HTTPRequestHandler, settings: Settings, loops: Int? = nil, logger: Logger) {
        let count = max(1, loops ?? Self.defaultLoops)
        self.loops = (0..<count).map { _ in EventLoop() }
        self.handler = handler
        self.settings = Mutex(settings)
        self.logger = logger
        self.listenFDs = listenFDs
        acceptLoop = EventLoop()
    }

    public func start() {
        scheduleSweep()
        acceptLoop.execute { [self] in
            for fd in listenFDs {
                let refused = acceptLoop.register(fd, events: UInt32(SPP_EPOLLIN)) { [self] _ in acceptPending(fd) }
                // Only ENOMEM can refuse a listener on a fresh epoll. A daemon that cannot
                // accept must not look alive: crash, and let systemd restart it.
                if let refused { preconditionFailure("epoll_ctl(ADD) on a listener: \(String(cString: strerror(refused)))") }
            }
        }
    }

    private func scheduleSweep() {
        sweeper.async(after: Self.sweepInterval) { [self] in
            guard sweeping.load(ordering: .relaxed) else { return }
            sweep()
            scheduleSweep()
        }
    }

    /// New limits for connections accepted from now on.
    public func update(_ settings: Settings) {
        self.settings.withLock { $0 = settings }
    }

    /// Runs `completion` after a round trip through the accept queue and every event loop,
    /// the threads that serve requests (for the watchdog).
    public func probe(_ completion: @escaping @Sendable () -> Void) {
        let loops = self.loops
        acceptLoop.execute {
            let remaining = Atomic(loops.count)
            for loop in loops {
                loop.execute {
                    if remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { completion() }
                }
            }
        }
    }

    public var openConnections: Int { connections.withLock { $0.count } }

    /// Stops watching the listener for `seconds` (``AcceptFailure``).
    private func pauseAccepting(_ listenFD: Int32, seconds: Double) {
        _ = acceptLoop.modify(listenFD, events: 0)  // if refused, accepts just go on
        sweeper.async(after: seconds) { [self] in
            acceptLoop.execute { [self] in
                guard accepting.withLock({ $0 }) else { return }
                if let refused = acceptLoop.modify(listenFD, events: UInt32(SPP_EPOLLIN)) {
                    preconditionFailure("epoll_ctl(MOD) on a listener: \(String(cString: strerror(refused)))")
                }
            }
        }
    }

    /// On the accept loop.
    private func acceptPending(_ listenFD: Int32) {
        while accepting.withLock({ $0 }) {
            let fd: Int32
            do {
                guard let accepted = try Socket.accept(listenFD) else { return }
                fd = accepted
            } catch {
                switch AcceptFailure(errno: error.errno) {
                case .skip: continue
                case .pause(let seconds):
                    logger.error("accept failed; pausing accepts", metadata: ["error": "\(error)", "seconds": "\(seconds)"])
                    return pauseAccepting(listenFD, seconds: seconds)
                }
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let current = settings.withLock { $0 }
            let admission = connections.withLock { c in
                let decision = Admission.decide(open: c.count, limit: current.maxConnections, idle: c.values.lazy.compactMap(\.idleCandidate))
                if case .evict(let victim) = decision { victim.evicting.store(true, ordering: .relaxed) }
                return decision
            }
            switch admission {
            case .admit: break
            case .evict(let victim):
                // An idle keep-alive flood must not lock out clients with work to do.
                victim.loop.execute { victim.evictIfIdle() }
            case .refuse:
                if current.tls == nil { _ = try? Socket.send(fd, Self.overloaded, from: 0) }
                Glibc.close(fd)
                logger.warning("connection limit reached; answered 503", metadata: ["limit": "\(current.maxConnections)"])
                continue
            }
            let loop = loops[nextLoop.add(1, ordering: .relaxed).oldValue % loops.count]
            let box = Mutex<ObjectIdentifier?>(nil)
            let transport: any ConnectionTransport
            if let tls = current.tls {
                guard let t = tls.makeTransport(fd: fd) else {
                    Glibc.close(fd)
                    logger.error("cannot start a TLS session (SSL_new failed)")
                    continue
                }
                transport = t
            } else {
                transport = PlainTransport(fd: fd)
            }
            let connection = Connection(
                fd: fd, transport: transport, loop: loop, limits: current.parserLimits, timeouts: current.timeouts, handler: handler, logger: logger,
                onClose: { [self] in
                    if let id = box.withLock({ $0 }), connections.withLock({ $0.removeValue(forKey: id); return $0.isEmpty }) {
                        allClosed.notify()
                    }
                })
            let id = ObjectIdentifier(connection)
            box.withLock { $0 = id }
            connections.withLock { $0[id] = connection }
            loop.execute { connection.start() }
        }
    }

    /// Hands each connection whose deadline has passed a check on its own queue (it
    /// re-checks there: the deadline may have moved meanwhile).
    private func sweep() {
        let now = monotonicNanoseconds()
        let due = connections.withLock { c in c.values.filter { $0.deadline.load(ordering: .relaxed) <= now } }
        for c in due { c.loop.execute { c.checkDeadline() } }
    }

    /// Stops accepting, lets in-flight requests finish, and closes idle connections: once
    /// every connection is closed or `timeout` seconds have passed, closes the rest and
    /// ends the server's threads. Call it once.
    public func shutdown(timeout: Double) {
        accepting.withLock { $0 = false }
        acceptLoop.executeAndWait { [self] in
            for fd in listenFDs {
                acceptLoop.unregister(fd)
                Glibc.close(fd)
            }
        }
        let open = connections.withLock { Array($0.values) }
        for c in open { c.loop.execute { c.drain() } }
        let deadline = monotonicSeconds() + timeout
        while openConnections > 0 && monotonicSeconds() < deadline {
            allClosed.wait(seconds: deadline - monotonicSeconds())
        }
        let stragglers = connections.withLock { Array($0.values) }
        for c in stragglers { c.loop.executeAndWait { c.close() } }
        sweeping.store(false, ordering: .relaxed)
        sweeper.finish()
        acceptLoop.stop()
        for loop in loops { loop.stop() }
    }
}
