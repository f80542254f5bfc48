// SPDX-License-Identifier: MIT

/// An outbound request as the forward sinks, the SPP API client and `send-test` build it:
/// one description, sent by the libcurl client (which adds Host, Content-Length and framing).
public struct HTTPClientRequest: Sendable, Equatable {
    public var method: HTTPMethod
    public var url: HTTPURL
    public var headers: [(String, String)]
    public var body: [UInt8]?

    public init(method: HTTPMethod, url: HTTPURL, headers: [(String, String)] = [], body: [UInt8]? = nil) {
        self.method = method
        self.url = url
        self.headers = [("User-Agent", "spp-hookd/0.1")] + headers
        self.body = body
    }

    /// `POST` with a JSON body.
    public static func postJSON(_ url: HTTPURL, body: [UInt8], headers: [(String, String)] = []) -> HTTPClientRequest {
        HTTPClientRequest(method: .post, url: url, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    public static func == (a: HTTPClientRequest, b: HTTPClientRequest) -> Bool {
        a.method == b.method && a.url == b.url && a.body == b.body
            && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }
}
