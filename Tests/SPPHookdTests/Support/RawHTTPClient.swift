// SPDX-License-Identifier: MIT
import Foundation
import Glibc

/// A blocking loopback TCP client that sends exact bytes and reads Content-Length-framed
/// responses, so tests control framing (chunked, pipelined, malformed, trickled).
final class RawHTTPClient {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: String
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw DaemonError(message: "connect: \(String(cString: strerror(errno)))")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Connects to a unix stream socket.
    init(unixPath: String, timeout: Double = 10) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in raw.copyBytes(from: Array(unixPath.utf8).prefix(raw.count - 1)) }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw DaemonError(message: "connect \(unixPath): \(String(cString: strerror(errno)))")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            done += n
        }
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes; false on EOF, error or timeout.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// The next response, or nil when the connection closed (or timed out) first.
    /// - Parameter noBody: the request was HEAD, so the response has no body whatever its Content-Length.
    func readResponse(noBody: Bool = false) -> Response? {
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                var lines = head.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst().split(separator: " ")
                let headers = lines.map { line -> (String, String) in
                    let parts = line.split(separator: ":", maxSplits: 1)
                    return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
                }
                let length = noBody ? 0 : Int(headers.first { $0.0.lowercased() == "content-length" }?.1 ?? "0") ?? 0
                while buffer.count < end.upperBound + length {
                    if !fill() { return nil }
                }
                let body = String(decoding: buffer[end.upperBound..<(end.upperBound + length)], as: UTF8.self)
                buffer.removeSubrange(0..<(end.upperBound + length))
                return Response(status: Int(statusLine.count > 1 ? statusLine[1] : "0") ?? 0, headers: headers, body: body)
            }
            if !fill() { return nil }
        }
    }

    /// True when the server has closed the connection (EOF) within the timeout.
    func isClosedByPeer() -> Bool {
        while true {
            if !buffer.isEmpty { buffer.removeAll() }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// One POST with a Content-Length body.
    static func post(_ path: String, _ body: String, contentType: String = "application/json", extraHeaders: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n\(extraHeaders)\r\n\(body)"
    }
}

/// A realistic SPP order payload with the given event and token.
func sppBody(event: String = "order.created", token: String = DaemonProcess.token, id: String = "666AF315", note: String = "") -> String {
    """
    {"event":"\(event)","created":1558608668,"token":"\(token)","data":{"id":"\(id)","date_added":"2010-12-30T15:00:00+0000",\
    "date_completed":null,"status":"Pending","service":"Logo design","note":"\(note)",\
    "client":{"id":1042,"email":"jane@example.com","name_f":"Jane","name_l":"Doe","company":"Acme"},\
    "form_data":{"Brand name":"Acme"},"tags":["vip"],"employees":[]}}
    """
}
