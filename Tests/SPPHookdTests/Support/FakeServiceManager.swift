// SPDX-License-Identifier: MIT
import Foundation
import Glibc

/// Plays systemd's side of `sd_notify`: a unix datagram socket at `path` (pass it as
/// `NOTIFY_SOCKET`) that records each message with the time it arrived.
final class FakeServiceManager {
    struct Message {
        var at: Date
        var fields: [String: String]
        var raw: String
    }

    let path: String
    private let fd: Int32

    init(dir: TemporaryDirectory) throws {
        path = dir.file("notify.sock")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw DaemonError(message: "bind notify socket: \(String(cString: strerror(errno)))") }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Messages received until `deadline` or until `stop` says so.
    func collect(until deadline: Date, stop: ([Message]) -> Bool = { _ in false }) -> [Message] {
        var messages: [Message] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline && !stop(messages) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { continue }
            let raw = String(decoding: buffer[0..<n], as: UTF8.self)
            var fields: [String: String] = [:]
            for line in raw.split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1)
                fields[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            messages.append(Message(at: Date(), fields: fields, raw: raw))
        }
        return messages
    }
}
