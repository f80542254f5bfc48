// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import Synchronization

/// Keep-alive connections to one origin (TLS for https), shared by threads. A request
/// that fails on a pooled connection, which the server may have closed meanwhile, is
/// tried once more on a fresh one before the failure is reported.
public final class HTTPClientPool: Sendable {
    public let url: HTTPURL
    let tls: TLSClientContext?
    private let idle = Mutex<[HTTPClientConnection]>([])
    private let maxIdle: Int

    public init(url: HTTPURL, caFile: String? = nil, maxIdle: Int) throws(TLSClientContext.Failure) {
        self.url = url
        self.maxIdle = maxIdle
        tls = url.secure ? try TLSClientContext(caFile: caFile) : nil
    }

    public func exchange(_ request: [UInt8], deadline: Double, isHead: Bool = false) throws(IOError) -> HTTPClientConnection.Response {
        var failure = IOError(errno: ECONNRESET, function: "no connection")
        for attempt in 0..<2 {
            let pooled = attempt == 0 ? idle.withLock { $0.popLast() } : nil
            do throws(IOError) {
                let connection: HTTPClientConnection
                if let pooled { connection = pooled } else { connection = try HTTPClientConnection.connect(url, tls: tls, deadline: deadline) }
                let response = try connection.exchange(request, deadline: deadline, isHead: isHead)
                if !connection.isBroken { idle.withLock { if $0.count < maxIdle { $0.append(connection) } } }
                return response
            } catch {
                failure = error
                if pooled == nil { break }
            }
        }
        throw failure
    }
}
