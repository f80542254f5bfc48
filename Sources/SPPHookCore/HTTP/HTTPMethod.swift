// SPDX-License-Identifier: MIT

/// Methods the parser recognises: the IANA HTTP Method Registry plus a few widely used
/// unregistered ones (PURGE, M-SEARCH, NOTIFY, SUBSCRIBE, UNSUBSCRIBE, SOURCE). Anything
/// else is answered 501 (RFC 9110 §9.1). PRI is left out: it is the HTTP/2 preface.
enum HTTPMethod {
    static let known: Set<String> = [
        "ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD",
        "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY", "MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE",
        "MOVE", "OPTIONS", "ORDERPATCH", "PATCH", "POST", "PROPFIND", "PROPPATCH", "PUT", "QUERY", "REBIND",
        "REPORT", "SEARCH", "TRACE", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK", "UPDATE", "UPDATEREDIRECTREF",
        "VERSION-CONTROL",
        "PURGE", "M-SEARCH", "NOTIFY", "SUBSCRIBE", "UNSUBSCRIBE", "SOURCE",
    ]

    static func isKnown(_ method: ArraySlice<UInt8>) -> Bool {
        method.count <= 20 && known.contains(String(decoding: method, as: UTF8.self))
    }
}
