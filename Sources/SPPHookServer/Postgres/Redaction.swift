// SPDX-License-Identifier: MIT
import CLibPQ
import SPPHookCore
import SPPHookPOSIX

/// Takes secrets out of libpq's messages: the connection string's password wherever it
/// appears, and, when the string does not parse, whatever libpq quotes from it.
struct Redaction {
    private var secrets: [String] = []
    private var quoteAll = false

    init(_ conninfo: String) {
        var error: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &error) {
            var p = options
            while let keyword = p.pointee.keyword {
                if String(cString: keyword) == "password", let v = p.pointee.val, v.pointee != 0 { secrets.append(String(cString: v)) }
                p += 1
            }
            PQconninfoFree(options)
        } else {
            PQfreemem(error)
            quoteAll = true
        }
        secrets.append(conninfo)
        // A URI's user:password@, as written (percent-encoded).
        if let scheme = conninfo.firstRange(of: "://"), let at = conninfo[scheme.upperBound...].firstIndex(of: "@") {
            let userinfo = conninfo[scheme.upperBound..<at]
            if let colon = userinfo.firstIndex(of: ":") { secrets.append(String(userinfo[userinfo.index(after: colon)...])) }
        }
        secrets.sort { $0.count > $1.count }
    }

    func callAsFunction(_ message: String) -> String {
        var out = message
        for s in secrets where !s.isEmpty { out = out.replacingAll(s, with: "***") }
        if quoteAll {  // "…" fragments (longer than one character) of a string libpq could not parse
            var result = "", inside = false, fragment = ""
            for ch in out {
                if ch == "\"" {
                    if inside { result += (fragment.count > 1 ? "***" : fragment) + "\"" } else { result.append(ch) }
                    (inside, fragment) = (!inside, "")
                } else if inside {
                    fragment.append(ch)
                } else {
                    result.append(ch)
                }
            }
            out = result + (inside ? "***" : "")
        }
        return out
    }
}
