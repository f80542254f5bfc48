// SPDX-License-Identifier: MIT
import CShims
import Glibc
public import SPPHookCore

/// Listening-socket set-up and the few socket calls the server needs, kept in one file so
/// the rest of the server never touches sockaddr types.
public enum Socket {
    /// Creates a non-blocking, close-on-exec TCP listener bound to `address`.
    public static func listen(on address: DaemonConfig.ListenAddress, backlog: Int32 = 511) throws(IOError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &result)
        guard rc == 0, let first = result else {
            throw IOError(errno: rc == EAI_SYSTEM ? errno : EADDRNOTAVAIL, function: "getaddrinfo(\(address.host))")
        }
        defer { freeaddrinfo(result) }
        let fd = try sys("socket") {
            Glibc.socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do throws(IOError) {
            var one: Int32 = 1
            try sys("setsockopt(SO_REUSEADDR)") {
                setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            if first.pointee.ai_family == AF_INET6 {
                // A v6 address means that address only; "[::]" still takes v4 on Linux defaults.
                var v6only: Int32 = address.host == "::" ? 0 : 1
                try sys("setsockopt(IPV6_V6ONLY)") {
                    setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &v6only, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            try sys("bind(\(address))") { bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) }
            try sys("listen") { Glibc.listen(fd, backlog) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The address a socket is bound to, as `host:port`.
    public static func localAddress(_ fd: Int32) -> DaemonConfig.ListenAddress? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0, storage.ss_family == sa_family_t(AF_INET) || storage.ss_family == sa_family_t(AF_INET6) else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var serv = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let r = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, len, &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard r == 0 else { return nil }
        let hostString = String(decoding: host.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let servString = String(decoding: serv.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return DaemonConfig.ListenAddress(host: hostString, port: Int(servString) ?? 0)
    }

    /// `host:port` for TCP, `unix:/path` for a unix socket.
    public static func describe(_ fd: Int32) -> String {
        if let inet = localAddress(fd) { return inet.description }
        var addr = sockaddr_un()
        var len = socklen_t(MemoryLayout<sockaddr_un>.size)
        let rc = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0, addr.sun_family == sa_family_t(AF_UNIX) else { return "fd \(fd)" }
        let path = withUnsafeBytes(of: addr.sun_path) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return "unix:" + path
    }

    /// Accepts one connection (non-blocking, close-on-exec), or nil when none is pending.
    package static func accept(_ listener: Int32) throws(IOError) -> Int32? {
        try syscall(wouldBlockIsNil: true, "accept4") { spp_accept_nonblocking_cloexec(listener) }
    }

    /// Sends `bytes[offset...]` without raising SIGPIPE. Returns bytes sent, or nil when the socket is full.
    package static func send(_ fd: Int32, _ bytes: [UInt8], from offset: Int) throws(IOError) -> Int? {
        try syscall(wouldBlockIsNil: true, "send") {
            // Callers send what is left (offset < count): the buffer is not empty.
            bytes.withUnsafeBytes { p in Glibc.send(fd, p.baseAddress! + offset, p.count - offset, Int32(MSG_NOSIGNAL)) }
        }
    }

    /// Reads into `buffer`. Returns bytes read (0 = peer closed), or nil when nothing is pending.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int? {
        try syscall(wouldBlockIsNil: true, "read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }
}
