// SPDX-License-Identifier: MIT
import Dispatch
import Glibc
public import Logging
public import SPPHookCore
import Synchronization

/// Accepts connections on a listening socket and runs each as a ``Connection``.
///
/// Over `maxConnections`, a new connection gets an immediate 503 and is closed: a flood
/// costs one accept and one write, never a hang.
///
/// `@unchecked Sendable`: the dispatch source is a thread-safe object and every other
/// mutable state sits behind a `Mutex`.
public final class HTTPServer: @unchecked Sendable {
    private let listenFD: Int32
    private let acceptSource: any DispatchSourceRead
    private let acceptQueue = DispatchQueue(label: "spp-hookd.accept")
    private let connectionQueue = DispatchQueue(label: "spp-hookd.connections", qos: .userInitiated, attributes: .concurrent)
    private let handler: any HTTPRequestHandler
    private let parserLimits: HTTPParserLimits
    private let timeouts: ConnectionTimeouts
    private let maxConnections: Int
    private let logger: Logger
    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])
    private let accepting = Mutex(true)

    private static let overloaded = HTTPResponse.error(503, "too many connections", headers: [("Retry-After", "1")])
        .serialized(close: true)

    public init(
        listenFD: Int32, handler: any HTTPRequestHandler, parserLimits: HTTPParserLimits,
        timeouts: ConnectionTimeouts, maxConnections: Int, logger: Logger
    ) {
        self.listenFD = listenFD
        self.handler = handler
        self.parserLimits = parserLimits
        self.timeouts = timeouts
        self.maxConnections = maxConnections
        self.logger = logger
        acceptSource = DispatchSource.makeReadSource(fileDescriptor: listenFD, queue: acceptQueue)
    }

    public func start() {
        acceptSource.setEventHandler { [self] in acceptPending() }
        acceptSource.setCancelHandler { [listenFD] in Glibc.close(listenFD) }
        acceptSource.resume()
    }

    public var openConnections: Int { connections.withLock { $0.count } }

    private func acceptPending() {
        while accepting.withLock({ $0 }) {
            let fd: Int32
            do {
                guard let accepted = try Socket.accept(listenFD) else { return }
                fd = accepted
            } catch {
                switch error.errno {
                case ECONNABORTED, EPROTO, EPERM: continue
                default:
                    // EMFILE/ENFILE/ENOBUFS: back off instead of spinning on a readable listener.
                    logger.error("accept failed; pausing accepts for 100 ms", metadata: ["error": "\(error)"])
                    acceptSource.suspend()
                    acceptQueue.asyncAfter(deadline: .now() + .milliseconds(100)) { [self] in acceptSource.resume() }
                    return
                }
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            let full = connections.withLock { $0.count >= maxConnections }
            if full {
                _ = try? Socket.send(fd, Self.overloaded, from: 0)
                Glibc.close(fd)
                logger.warning("connection limit reached; answered 503", metadata: ["limit": "\(maxConnections)"])
                continue
            }
            let queue = DispatchQueue(label: "spp-hookd.connection", target: connectionQueue)
            let box = Mutex<ObjectIdentifier?>(nil)
            let connection = Connection(
                fd: fd, queue: queue, limits: parserLimits, timeouts: timeouts, handler: handler, logger: logger,
                onClose: { [self] in
                    if let id = box.withLock({ $0 }) { _ = connections.withLock { $0.removeValue(forKey: id) } }
                })
            let id = ObjectIdentifier(connection)
            box.withLock { $0 = id }
            connections.withLock { $0[id] = connection }
            queue.async { connection.start() }
        }
    }

    /// Stops accepting, lets in-flight requests finish, and closes idle connections.
    /// Returns once every connection is closed or `timeout` seconds have passed.
    public func shutdown(timeout: Double) {
        accepting.withLock { $0 = false }
        acceptQueue.sync { acceptSource.cancel() }
        let open = connections.withLock { Array($0.values) }
        for c in open { c.queue.async { c.drain() } }
        let deadline = DispatchTime.now() + timeout
        while openConnections > 0 && DispatchTime.now() < deadline {
            usleep(10_000)
        }
        let stragglers = connections.withLock { Array($0.values) }
        for c in stragglers { c.queue.sync { c.close() } }
    }
}
