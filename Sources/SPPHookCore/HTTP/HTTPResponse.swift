// SPDX-License-Identifier: MIT

/// A response with a small body, serialized in one buffer so it goes out in one write.
public struct HTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON response (`Content-Type: application/json`).
    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        var body = JSONWriter.bytes(value)
        body.append(0x0A)
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// `{"ok":false,"error":reason}` with `status`.
    public static func error(_ status: Int, _ reason: String, headers: [(String, String)] = []) -> HTTPResponse {
        .json(status, .object(JSONObject([.init(key: "ok", value: .bool(false)), .init(key: "error", value: .string(reason))])),
            headers: headers)
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { "\($0.0):\($0.1)" } == b.headers.map { "\($0.0):\($0.1)" }
    }

    /// The wire bytes. `close` adds `Connection: close`; `headOnly` omits the body (HEAD);
    /// `date` is the `Date` header value (RFC 9110 §6.6.1), omitted when nil.
    public func serialized(close: Bool, headOnly: Bool = false, date: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128 + body.count)
        out.append(ascii: "HTTP/1.1 ")
        out.append(decimal: Int64(status))
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: Self.reasonPhrase(status).utf8)
        out.append(ascii: "\r\n")
        if let date {
            out.append(ascii: "Date: ")
            out.append(contentsOf: date.utf8)
            out.append(ascii: "\r\n")
        }
        for (name, value) in headers {
            out.append(contentsOf: name.utf8)
            out.append(ascii: ": ")
            out.append(contentsOf: value.utf8)
            out.append(ascii: "\r\n")
        }
        out.append(ascii: "Content-Length: ")
        out.append(decimal: Int64(body.count))
        out.append(ascii: "\r\n")
        if close { out.append(ascii: "Connection: close\r\n") }
        out.append(ascii: "\r\n")
        if !headOnly { out.append(contentsOf: body) }
        return out
    }

    /// The interim `100 Continue` response.
    public static let continueBytes: [UInt8] = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "Status"
        }
    }
}
