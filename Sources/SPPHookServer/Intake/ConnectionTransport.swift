// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import Glibc

/// A plain TCP or unix socket.
struct PlainTransport: ConnectionTransport {
    let fd: Int32
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int? { try Socket.read(fd, into: buffer) }
    func send(_ bytes: [UInt8], from offset: Int) throws(IOError) -> Int? { try Socket.send(fd, bytes, from: offset) }
    var hasBufferedInput: Bool { false }
    func shutdownWrite() { Glibc.shutdown(fd, Int32(SHUT_WR)) }
}

/// How a ``Connection`` moves bytes: plain (``PlainTransport``), or through TLS
/// (``TLSServerTransport``).
protocol ConnectionTransport: Sendable {
    /// Bytes read (0: the peer closed), or nil when nothing can be read yet.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(IOError) -> Int?
    /// Bytes sent from `offset`, or nil when the socket is full.
    func send(_ bytes: [UInt8], from offset: Int) throws(IOError) -> Int?
    var hasBufferedInput: Bool { get }
    func shutdownWrite()
}
