// SPDX-License-Identifier: MIT
import Foundation
import Glibc
import Synchronization

/// Plays systemd's side of `sd_notify`: a unix datagram socket at `path` (pass it as
/// `NOTIFY_SOCKET`) that records each message with the time it arrived. A thread of its own
/// reads every message as it comes: the kernel queues only a few datagrams
/// (`net.unix.max_dgram_qlen`, 10 here), and sd_notify blocks on a full queue, so an unread
/// socket would stall the daemon (its STOPPING=1 on SIGTERM included).
final class FakeServiceManager: Sendable {
    struct Message: Sendable {
        var at: Date
        var fields: [String: String]
        var raw: String
    }

    let path: String
    private let inbox: Inbox

    /// `name`: the socket's file in `dir` (a daemon started again in the same folder gets a new one).
    init(dir: TemporaryDirectory, name: String = "notify.sock") throws {
        let path = dir.file(name)
        self.path = path
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw DaemonError(message: "bind notify socket: \(String(cString: strerror(errno)))")
        }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let inbox = Inbox(fd: fd)
        self.inbox = inbox
        Thread { inbox.readAll() }.start()
    }

    deinit { inbox.close() }

    /// The messages not yet returned by an earlier call, as they arrive, until `deadline` or
    /// until `stop` says so.
    func collect(until deadline: Date, stop: ([Message]) -> Bool = { _ in false }) -> [Message] {
        var messages: [Message] = []
        while true {
            messages += inbox.take()
            let left = deadline.timeIntervalSinceNow
            if stop(messages) || left <= 0 { return messages }
            _ = inbox.arrived.wait(timeout: .now() + min(left, 0.5))
        }
    }
}

/// The socket and what was read from it, shared with the reading thread (which must not
/// keep the manager alive).
private final class Inbox: Sendable {
    let fd: Int32
    /// Signalled once per message read.
    let arrived = DispatchSemaphore(value: 0)
    private let state = Mutex<(received: [FakeServiceManager.Message], taken: Int, closing: Bool)>(([], 0, false))
    private let finished = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        self.fd = fd
    }

    func readAll() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !state.withLock({ $0.closing }) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { continue }  // the receive timeout: look at `closing` again
            let raw = String(decoding: buffer[0..<n], as: UTF8.self)
            var fields: [String: String] = [:]
            for line in raw.split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1)
                fields[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            let message = FakeServiceManager.Message(at: Date(), fields: fields, raw: raw)
            state.withLock { $0.received.append(message) }
            arrived.signal()
        }
        finished.signal()
    }

    /// What arrived since the last call.
    func take() -> [FakeServiceManager.Message] {
        state.withLock { s in
            defer { s.taken = s.received.count }
            return Array(s.received[s.taken...])
        }
    }

    /// Ends the reading thread, then closes the socket.
    func close() {
        state.withLock { $0.closing = true }
        finished.wait()
        Glibc.close(fd)
    }
}
