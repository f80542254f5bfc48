// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// Outbound HTTP for forward sinks, the SPP API client and `send-test`, through libcurl:
/// keep-alive connections (a pool of easy handles, one per concurrent request), HTTP/2
/// where an https receiver offers it, certificate and host verification (`caFile` to trust
/// a private CA), no redirects, only http and https, the standard proxy variables
/// (`https_proxy`, `http_proxy`, `no_proxy`) or a proxy of its own, and curl's strict
/// response handling: a malformed answer is an error, never a delivery.
public final class HTTPClient: Sendable {
    public struct Options: Sendable, Equatable {
        public var timeoutSeconds: Double
        public var caFile: String?
        /// A proxy URL (`http://proxy:3128`); nil: the environment's; "": none at all.
        public var proxy: String?
        public var maxBodyBytes: Int

        public init(timeoutSeconds: Double, caFile: String? = nil, proxy: String? = nil, maxBodyBytes: Int = 1 << 20) {
            self.timeoutSeconds = timeoutSeconds
            self.caFile = caFile
            self.proxy = proxy
            self.maxBodyBytes = maxBodyBytes
        }
    }

    public struct Response: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: [UInt8]
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    public let options: Options
    private let idle = Mutex<[CurlHandle]>([])
    private let maxIdle: Int

    /// `maxIdle`: handles (and their open connections) kept between requests.
    public init(options: Options, maxIdle: Int) {
        self.options = options
        self.maxIdle = maxIdle
    }

    /// Sends `request` and waits for the whole response (at most `options.timeoutSeconds`).
    public func send(_ request: HTTPClientRequest) throws(Failure) -> Response {
        guard let handle = idle.withLock({ $0.popLast() }) ?? CurlHandle() else { throw Failure("cannot start libcurl") }
        defer { idle.withLock { if $0.count < maxIdle { $0.append(handle) } } }
        return try handle.perform(request, options: options)
    }
}
