// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore

/// One HTTP/1.1 client connection (plain or TLS) with keep-alive; every operation is
/// bounded by a deadline on the monotonic clock. Used by forward sinks and, later, the
/// SPP API client.
///
/// `@unchecked Sendable`: a connection is used by one thread at a time; a pool hands it
/// from one delivery to the next under its lock.
public final class HTTPClientConnection: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
        /// The server will take another request on this connection.
        public var keepAlive: Bool
    }

    public static let maxHeaderBytes = 64 * 1024
    public static let maxBodyBytes = 1 << 20

    let fd: Int32
    let tls: TLSSession?
    private var buffer: [UInt8] = []
    public private(set) var isBroken = false

    /// Connects to `url`'s host and port (every address getaddrinfo returns, in order) and
    /// completes the TLS handshake for https.
    public static func connect(_ url: HTTPURL, tls context: TLSClientContext?, deadline: Double) throws(IOError) -> HTTPClientConnection {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(url.host, String(url.port), &hints, &result)
        guard rc == 0, let first = result else {
            throw IOError(errno: EHOSTUNREACH, function: "resolve \(url.host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        var lastError = IOError(errno: ECONNREFUSED, function: "connect \(url.hostHeader)")
        var candidate: UnsafeMutablePointer<addrinfo>? = first
        while let ai = candidate {
            candidate = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else { continue }
            do throws(IOError) {
                if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) != 0 {
                    guard errno == EINPROGRESS else { throw IOError(errno: errno, function: "connect \(url.hostHeader)") }
                    try pollSocket(fd, events: Int16(POLLOUT), deadline: deadline, "connect \(url.hostHeader)")
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    if err != 0 { throw IOError(errno: err, function: "connect \(url.hostHeader)") }
                }
                var one: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                let session = try context.map { (c) throws(IOError) -> TLSSession in
                    try TLSSession(context: c, fd: fd, host: url.host, deadline: deadline)
                }
                return HTTPClientConnection(fd: fd, tls: session)
            } catch {
                close(fd)
                lastError = error
            }
        }
        throw lastError
    }

    private init(fd: Int32, tls: TLSSession?) {
        self.fd = fd
        self.tls = tls
    }

    deinit {
        tls?.shutdown()
        close(fd)
    }

    /// Sends a request and reads its response.
    public func exchange(_ request: [UInt8], deadline: Double, isHead: Bool = false) throws(IOError) -> Response {
        do throws(IOError) {
            try write(request, deadline: deadline)
            return try readResponse(deadline: deadline, isHead: isHead)
        } catch {
            isBroken = true
            throw error
        }
    }

    private func write(_ bytes: [UInt8], deadline: Double) throws(IOError) {
        var done = 0
        while done < bytes.count {
            let d = done
            let result: Result<Int, IOError> = bytes.withUnsafeBytes { raw in
                let rest = UnsafeRawBufferPointer(rebasing: raw[d...])
                if let tls { return Result { () throws(IOError) -> Int in try tls.write(rest, deadline: deadline) } }
                let r = send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL))
                if r < 0 {
                    if errno == EAGAIN || errno == EINTR { return .success(0) }
                    return .failure(IOError(errno: errno, function: "send"))
                }
                return .success(r)
            }
            let n = try result.get()
            if n == 0 { try pollSocket(fd, events: Int16(POLLOUT), deadline: deadline, "send") }
            done += n
        }
    }

    /// Reads more bytes into the buffer; false at end of stream.
    private func fill(deadline: Double) throws(IOError) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let result: Result<Int, IOError> = chunk.withUnsafeMutableBytes { raw in
                if let tls { return Result { () throws(IOError) -> Int in try tls.read(raw, deadline: deadline) } }
                let r = recv(fd, raw.baseAddress, raw.count, 0)
                if r < 0 {
                    if errno == EAGAIN || errno == EINTR { return .success(-1) }
                    return .failure(IOError(errno: errno, function: "recv"))
                }
                return .success(r)
            }
            let n = try result.get()
            if n < 0 {
                try pollSocket(fd, events: Int16(POLLIN), deadline: deadline, "recv")
                continue
            }
            if n == 0 { return false }
            buffer += chunk[0..<n]
            return true
        }
    }

    private func readResponse(deadline: Double, isHead: Bool) throws(IOError) -> Response {
        while true {
            var found = buffer.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A])?.upperBound
            while found == nil {
                if buffer.count > Self.maxHeaderBytes { throw IOError(errno: EMSGSIZE, function: "response headers too large") }
                guard try fill(deadline: deadline) else { throw IOError(errno: ECONNRESET, function: "connection closed before a response") }
                found = buffer.firstRange(of: [0x0D, 0x0A, 0x0D, 0x0A])?.upperBound
            }
            guard let headEnd = found else { continue }
            let head = String(decoding: buffer[..<(headEnd - 4)], as: UTF8.self)
            buffer.removeFirst(headEnd)
            let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
            let statusParts = lines[0].split(separator: " ", maxSplits: 2)
            guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
                throw IOError(errno: EPROTO, function: "malformed status line")
            }
            var headers = HTTPHeaders()
            for line in lines.dropFirst() where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { throw IOError(errno: EPROTO, function: "malformed response header") }
                headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...]).trimmingOWS().description)
            }
            if (100..<200).contains(status) { continue }  // interim response: the real one follows
            let http10 = statusParts[0] == "HTTP/1.0"
            let connection = headers.tokens("connection")
            var keepAlive = http10 ? connection.contains("keep-alive") : !connection.contains("close")
            var body: [UInt8] = []
            if isHead || status == 204 || status == 304 {
                // no body
            } else if headers.tokens("transfer-encoding").last == "chunked" {
                body = try readChunked(deadline: deadline)
            } else if let cl = headers["content-length"], let length = Int(cl.trimmingOWS()), length >= 0 {
                guard length <= Self.maxBodyBytes else { throw IOError(errno: EMSGSIZE, function: "response body too large") }
                while buffer.count < length {
                    guard try fill(deadline: deadline) else { throw IOError(errno: ECONNRESET, function: "connection closed mid-body") }
                }
                body = Array(buffer[..<length])
                buffer.removeFirst(length)
            } else {
                while try fill(deadline: deadline) {
                    if buffer.count > Self.maxBodyBytes { break }
                }
                body = Array(buffer.prefix(Self.maxBodyBytes))
                buffer.removeAll()
                keepAlive = false
            }
            if !keepAlive { isBroken = true }
            return Response(status: status, headers: headers, body: body, keepAlive: keepAlive)
        }
    }

    private func readChunked(deadline: Double) throws(IOError) -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let lineEnd = try line(deadline: deadline)
            // chunk-size is 1*HEXDIG (RFC 9112 §7.1; at most 15 here): no sign, no leading
            // space. Blanks may only come before a chunk extension's ";".
            var digits = buffer[..<lineEnd].prefix { $0 != UInt8(ascii: ";") }
            while let last = digits.last, last == UInt8(ascii: " ") || last == 0x09 { digits.removeLast() }
            buffer.removeFirst(lineEnd + 2)
            guard (1...15).contains(digits.count), digits.allSatisfy({ HTTPSyntax.hexValue($0) != nil }),
                let size = Int(String(decoding: digits, as: UTF8.self), radix: 16)
            else {
                throw IOError(errno: EPROTO, function: "malformed chunk size")
            }
            if size == 0 {
                // Trailers until an empty line.
                while true {
                    let end = try line(deadline: deadline)
                    buffer.removeFirst(end + 2)
                    if end == 0 { return body }
                }
            }
            guard body.count + size <= Self.maxBodyBytes else { throw IOError(errno: EMSGSIZE, function: "response body too large") }
            while buffer.count < size + 2 {
                guard try fill(deadline: deadline) else { throw IOError(errno: ECONNRESET, function: "connection closed mid-chunk") }
            }
            guard buffer[size] == UInt8(ascii: "\r"), buffer[size + 1] == UInt8(ascii: "\n") else {
                throw IOError(errno: EPROTO, function: "malformed chunk: its data is not followed by CRLF")
            }
            body += buffer[..<size]
            buffer.removeFirst(size + 2)
        }
    }

    /// The index of the next CRLF in the buffer (reading as needed).
    private func line(deadline: Double) throws(IOError) -> Int {
        while true {
            if let r = buffer.firstRange(of: [0x0D, 0x0A]) { return r.lowerBound }
            if buffer.count > Self.maxHeaderBytes { throw IOError(errno: EMSGSIZE, function: "response line too long") }
            guard try fill(deadline: deadline) else { throw IOError(errno: ECONNRESET, function: "connection closed mid-response") }
        }
    }
}
