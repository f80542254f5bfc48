// SPDX-License-Identifier: MIT

/// Methods the parser recognises: the IANA HTTP Method Registry plus a few widely used
/// unregistered ones (PURGE, M-SEARCH, NOTIFY, SUBSCRIBE, UNSUBSCRIBE, SOURCE), and the RTSP
/// methods for RTSP/1.0 request lines. Anything else is answered 501 (RFC 9110 §9.1). PRI
/// is left out: it is the HTTP/2 preface.
enum HTTPMethodRegistry {
    /// The protocol named in a request line. llhttp (Node's parser) also takes RTSP/1.0
    /// and ICE/1.0 (SHOUTcast's SOURCE) lines; so do we, to answer them (404/405: no
    /// endpoint takes them) and close, instead of a 400.
    enum RequestProtocol: String, CaseIterable {
        case http = "HTTP/"
        case rtsp = "RTSP/"
        case ice = "ICE/"
    }

    static let http: Set<String> = [
        "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD",
        "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE",
        "MOVE", "OPTIONS", "ORDERPATCH", "PATCH", "POST", "PROPFIND", "PROPPATCH", "PUT", "QUERY", "REBIND",
        "REPORT", "SEARCH", "TRACE", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF",
        "VERSION-CONTROL",
        "PURGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "SOURCE",
    ]

    /// RFC 2326 §10.
    static let rtsp: Set<String> = [
        "OPTIONS", "DESCRIBE", "ANNOUNCE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER",
        "REDIRECT", "RECORD", "FLUSH",
    ]

    static let known = http.union(rtsp)

    /// Known in some protocol (checked as soon as the method is read).
    static func isKnown(_ method: ArraySlice<UInt8>) -> Bool {
        method.count <= 20 && known.contains(String(decoding: method, as: UTF8.self))
    }

    /// Whether `method` belongs to `proto` (checked once the version is read).
    static func isAllowed(_ method: String, in proto: RequestProtocol) -> Bool {
        switch proto {
        case .http: http.contains(method)
        case .rtsp: rtsp.contains(method)
        case .ice: method == "SOURCE"
        }
    }
}
