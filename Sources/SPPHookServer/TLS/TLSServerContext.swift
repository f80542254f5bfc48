// SPDX-License-Identifier: MIT
internal import COpenSSL
import SPPHookPOSIX
import Glibc

/// The listener's TLS configuration (`tls` in the config): TLS 1.2 or later, forward-secret
/// AEAD ciphers only for TLS 1.2 (TLS 1.3's suites are all modern), no renegotiation, the
/// server's cipher order, and ALPN `http/1.1`. A new context is built on SIGHUP, so
/// renewed certificates apply to new connections without a restart.
public final class TLSServerContext: @unchecked Sendable {
    // SSL_CTX is internally reference-counted and safe to share once configured.
    let ctx: OpaquePointer

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let cipherList = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

    /// - Parameters:
    ///   - certificate: PEM file with the certificate, then any intermediates.
    ///   - privateKey: PEM file with its private key.
    public init(certificate: String, privateKey: String) throws(Failure) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw Failure(description: "SSL_CTX_new: \(openSSLError())") }
        self.ctx = ctx
        _ = spp_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION)
        spp_SSL_CTX_set_server_options(ctx)
        _ = spp_SSL_CTX_set_mode(ctx, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        guard SSL_CTX_set_cipher_list(ctx, Self.cipherList) == 1 else {
            throw Failure(description: "cipher list: \(openSSLError())")
        }
        ERR_clear_error()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificate) == 1 else {
            throw Failure(description: "certificate \(certificate): \(openSSLError())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw Failure(description: "privateKey \(privateKey): \(openSSLError())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw Failure(description: "privateKey \(privateKey) does not match certificate \(certificate)")
        }
        spp_SSL_CTX_enable_alpn_http11(ctx)
    }

    deinit { SSL_CTX_free(ctx) }

    /// A server-side session on an accepted socket; the handshake runs as data arrives.
    func makeTransport(fd: Int32) -> TLSServerTransport? {
        guard let ssl = SSL_new(ctx) else { return nil }
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
        return TLSServerTransport(ssl: ssl, fd: fd)
    }
}

/// TLS on a non-blocking connection: reads and writes that cannot progress yet return nil
/// (the connection waits for the socket), as plain sockets do with EAGAIN.
///
/// `@unchecked Sendable`: used only on its connection's queue.
final class TLSServerTransport: ConnectionTransport, @unchecked Sendable {
    let ssl: OpaquePointer
    let fd: Int32

    init(ssl: OpaquePointer, fd: Int32) {
        self.ssl = ssl
        self.fd = fd
    }

    deinit { SSL_free(ssl) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int? {
        ERR_clear_error()
        let r = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if r > 0 { return Int(r) }
        return try outcome(r, "SSL_read")
    }

    func send(_ bytes: [UInt8], from offset: Int) throws(IOError) -> Int? {
        ERR_clear_error()
        // Callers send what is left (offset < count): the buffer is not empty.
        let r = bytes.withUnsafeBytes { p in SSL_write(ssl, p.baseAddress! + offset, Int32(p.count - offset)) }
        if r > 0 { return Int(r) }
        return try outcome(r, "SSL_write")
    }

    /// Decrypted bytes OpenSSL holds that the socket will not signal again.
    var hasBufferedInput: Bool { SSL_pending(ssl) > 0 }

    func shutdownWrite() {
        ERR_clear_error()
        SSL_shutdown(ssl)  // close_notify, best effort on a non-blocking socket
        Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// nil to wait, 0 for a closed peer, or the error.
    private func outcome(_ r: Int32, _ call: String) throws(IOError) -> Int? {
        let e = SSL_get_error(ssl, r)
        switch e {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return nil
        case SSL_ERROR_ZERO_RETURN: return 0
        case SSL_ERROR_SYSCALL where errno == 0 || errno == ECONNRESET || errno == EPIPE: return 0
        default: throw IOError(errno: EPROTO, function: "\(call): \(openSSLError())")
        }
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
