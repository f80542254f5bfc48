// SPDX-License-Identifier: MIT
internal import COpenSSL
import Glibc

/// A client TLS configuration: TLS 1.2 or later, peer certificates verified against the
/// system store (or `caFile`), and the host name (or IP address) checked on every connection.
public final class TLSClientContext: @unchecked Sendable {
    // SSL_CTX is internally reference-counted and safe to share once configured.
    let ctx: OpaquePointer

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public init(caFile: String?) throws(Failure) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw Failure(description: "SSL_CTX_new: \(openSSLError())") }
        self.ctx = ctx
        _ = spp_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        _ = spp_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        let loaded: Int32
        if let caFile {
            loaded = SSL_CTX_load_verify_locations(ctx, caFile, nil)
        } else {
            loaded = SSL_CTX_set_default_verify_paths(ctx)
        }
        guard loaded == 1 else { throw Failure(description: "cannot load CA certificates\(caFile.map { " from \($0)" } ?? ""): \(openSSLError())") }
    }

    deinit { SSL_CTX_free(ctx) }
}

/// One TLS session over a connected non-blocking socket; every call is bounded by a deadline.
final class TLSSession {
    let ssl: OpaquePointer
    let fd: Int32

    init(context: TLSClientContext, fd: Int32, host: String, deadline: Double) throws(IOError) {
        guard let ssl = SSL_new(context.ctx) else { throw IOError(errno: EPROTO, function: "SSL_new: \(openSSLError())") }
        self.ssl = ssl
        self.fd = fd
        SSL_set_fd(ssl, fd)
        var addr = in6_addr()
        let isIP = host.withCString { inet_pton(AF_INET, $0, &addr) == 1 || inet_pton(AF_INET6, $0, &addr) == 1 }
        if isIP {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = spp_SSL_set_tlsext_host_name(ssl, host)
            SSL_set1_host(ssl, host)
        }
        try step("SSL_connect", deadline: deadline) { SSL_connect(ssl) }
        let verify = SSL_get_verify_result(ssl)
        guard verify == X509_V_OK else {
            throw IOError(errno: EPROTO, function: "TLS certificate: \(String(cString: X509_verify_cert_error_string(verify)))")
        }
    }

    deinit { SSL_free(ssl) }

    func write(_ bytes: UnsafeRawBufferPointer, deadline: Double) throws(IOError) -> Int {
        try step("SSL_write", deadline: deadline) { SSL_write(ssl, bytes.baseAddress, Int32(bytes.count)) }
    }

    /// Bytes read; 0 at a clean close.
    func read(_ buffer: UnsafeMutableRawBufferPointer, deadline: Double) throws(IOError) -> Int {
        try step("SSL_read", deadline: deadline, zeroIsClose: true) { SSL_read(ssl, buffer.baseAddress, Int32(buffer.count)) }
    }

    func shutdown() { SSL_shutdown(ssl) }

    /// Runs an OpenSSL I/O call, waiting on the socket for WANT_READ/WANT_WRITE until `deadline`.
    private func step(_ name: String, deadline: Double, zeroIsClose: Bool = false, _ call: () -> Int32) throws(IOError) -> Int {
        while true {
            ERR_clear_error()
            let r = call()
            if r > 0 { return Int(r) }
            let e = SSL_get_error(ssl, r)
            switch e {
            case SSL_ERROR_WANT_READ: try waitFor(Int16(POLLIN), deadline: deadline, name)
            case SSL_ERROR_WANT_WRITE: try waitFor(Int16(POLLOUT), deadline: deadline, name)
            case SSL_ERROR_ZERO_RETURN where zeroIsClose: return 0
            case SSL_ERROR_SYSCALL where zeroIsClose && ERR_peek_error() == 0: return 0
            default:
                let detail = openSSLError()
                throw IOError(errno: EPROTO, function: "\(name): \(detail.isEmpty ? "TLS error \(e)" : detail)")
            }
        }
    }

    private func waitFor(_ events: Int16, deadline: Double, _ name: String) throws(IOError) {
        try pollSocket(fd, events: events, deadline: deadline, name)
    }
}

/// Waits until `fd` is ready for `events` or `deadline` (monotonic seconds) passes.
func pollSocket(_ fd: Int32, events: Int16, deadline: Double, _ name: String) throws(IOError) {
    while true {
        let remaining = deadline - monotonicSeconds()
        guard remaining > 0 else { throw IOError(errno: ETIMEDOUT, function: name) }
        var p = pollfd(fd: fd, events: events, revents: 0)
        let r = poll(&p, 1, Int32(min(remaining * 1000, 60_000)) + 1)
        if r > 0 { return }
        if r < 0 && errno != EINTR { throw IOError(errno: errno, function: "poll") }
    }
}

/// The most recent OpenSSL error as text (empty when none).
func openSSLError() -> String {
    let code = ERR_get_error()
    guard code != 0 else { return "" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
