// SPDX-License-Identifier: MIT

/// What the parser knows once the header section is complete.
public struct HTTPRequestHead: Sendable, Equatable {
    public enum Framing: Sendable, Equatable {
        case none
        case length(Int)
        case chunked
    }

    public var method: HTTPMethod
    /// The request-target exactly as sent.
    public var target: String
    public var versionMinor: Int  // HTTP/1.x
    public var headers: HTTPHeaders
    public var framing: Framing
    /// Whether the connection may carry another request after this one.
    public var keepAlive: Bool
    /// `Expect: 100-continue` was sent.
    public var expectContinue: Bool
    /// An `Upgrade` header or a CONNECT: we do not switch protocols, so the connection
    /// closes after our response instead of parsing what follows as HTTP.
    public var upgradeRequested: Bool
    /// Transfer codings applied before `chunked` (e.g. gzip); the body stays encoded.
    public var extraTransferCodings: [String]

    public init(
        method: HTTPMethod, target: String, versionMinor: Int = 1, headers: HTTPHeaders = HTTPHeaders(), framing: Framing = .none,
        keepAlive: Bool = true, expectContinue: Bool = false, upgradeRequested: Bool = false, extraTransferCodings: [String] = []
    ) {
        (self.method, self.target, self.versionMinor, self.headers, self.framing) = (method, target, versionMinor, headers, framing)
        (self.keepAlive, self.expectContinue, self.upgradeRequested) = (keepAlive, expectContinue, upgradeRequested)
        self.extraTransferCodings = extraTransferCodings
    }

    /// The path of the target without query or fragment; for absolute-form targets, the
    /// path after the authority ("/" when empty).
    public var path: String {
        // The usual origin-form without query or fragment is its own path.
        if target.utf8.first == UInt8(ascii: "/"), !target.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            return target
        }
        var t = Substring(target)
        if !t.hasPrefix("/"), let colon = t.firstIndex(of: ":"), t[colon...].hasPrefix("://") {
            t = t[t.index(colon, offsetBy: 3)...]
            if let slash = t.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) {
                t = t[slash...]
            } else {
                t = ""
            }
            if !t.hasPrefix("/") { t = "/" + t }
        }
        if let cut = t.firstIndex(where: { $0 == "?" || $0 == "#" }) { t = t[..<cut] }
        return t.isEmpty ? "/" : String(t)
    }
}

/// A complete request: head and decoded body.
public struct HTTPRequest: Sendable, Equatable {
    public var head: HTTPRequestHead
    public var body: [UInt8]

    public init(head: HTTPRequestHead, body: [UInt8]) {
        self.head = head
        self.body = body
    }
}
