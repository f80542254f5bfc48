// SPDX-License-Identifier: MIT

/// SPP's webhook envelope `{"event","created","token","data"}`, decoded from a request body.
///
/// Decoding happens in two steps so that authentication comes before any validation
/// whose error message could tell an unauthenticated caller something:
/// ``parseBody(_:contentType:)`` (400 when the body is not an object at all), then the
/// caller checks ``presentedToken(in:)``, then ``init(validating:)`` (400 for a bad envelope).
public struct WebhookEnvelope: Sendable, Equatable {
    /// `resource.action`, e.g. `order.created`.
    public var event: String
    /// SPP's `created` (Unix seconds), when present.
    public var created: Int64?
    /// The body as received, minus `token`, in canonical JSON: what is stored and forwarded.
    public var payloadJSON: [UInt8]

    /// ``payloadJSON`` as a value (tests and tools).
    public var payload: JSONObject {
        guard case .object(let o)? = try? JSONParser.parse(payloadJSON) else { return JSONObject() }
        return o
    }

    public static let maxEventNameLength = 200

    /// Parses a JSON or form-encoded body into an object, in canonical form.
    public static func parseBody(_ body: [UInt8], contentType: String?) throws(EnvelopeError) -> CanonicalObject {
        // A body whose first non-blank byte is "{" is JSON whatever the label says (curl -d
        // labels JSON as a form); otherwise the label decides, and SPP's default is JSON.
        let looksLikeJSON = body.first(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) == UInt8(ascii: "{")
        let isForm: Bool
        if looksLikeJSON {
            isForm = false
        } else {
            switch contentType.map(mediaType) {
            case "application/x-www-form-urlencoded": isForm = true
            case .some(let m) where m == "application/json" || m.hasSuffix("+json") || m == "text/json": isForm = false
            default: isForm = !body.isEmpty
            }
        }
        if isForm {
            return CanonicalObject(try FormDecoder.decode(body))
        }
        do {
            if looksLikeJSON { return try CanonicalObject(parsing: body[...]) }
            // Not an object: say what it is instead (or why it is not JSON at all).
            _ = try JSONParser.parse(body[...])
        } catch {
            throw .invalidJSON(error)
        }
        throw .notAnObject
    }

    /// A `Content-Type` value's media type, lower-cased, without parameters.
    private static func mediaType(_ contentType: String) -> String {
        contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingOWS().lowercasedASCII() } ?? ""
    }

    /// The `token` the sender presented, if it is a string.
    public static func presentedToken(in object: CanonicalObject) -> String? {
        object["token"]?.stringValue
    }

    /// Validates the envelope fields of an authenticated body and strips its token.
    public init(validating object: CanonicalObject) throws(EnvelopeError) {
        guard let eventValue = object["event"] else { throw .missingField("event") }
        guard case .string(let event) = eventValue else { throw .wrongType("event", expected: "string") }
        guard !event.isEmpty, event.utf8.count <= Self.maxEventNameLength,
            event.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { throw .invalidEventName }
        self.event = event
        switch object["created"] {
        case nil, .null?:
            created = nil
        case .number(let n)?:
            guard let v = Int64(n) else { throw .wrongType("created", expected: "integer Unix seconds") }
            created = v
        case .string(let s)?:
            guard let v = Int64(s) else { throw .wrongType("created", expected: "integer Unix seconds") }
            created = v
        case .some:
            throw .wrongType("created", expected: "integer Unix seconds")
        }
        payloadJSON = object.removing("token")
    }
}

/// Why a body is not an acceptable SPP envelope (all answered 400, except as noted).
public enum EnvelopeError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidJSON(JSONParseError)
    case notAnObject
    case invalidForm(String)
    case missingField(String)
    case wrongType(String, expected: String)
    case invalidEventName

    public var description: String {
        switch self {
        case .invalidJSON(let e): "malformed JSON: \(e)"
        case .notAnObject: "body must be a JSON object"
        case .invalidForm(let why): "malformed form body: \(why)"
        case .missingField(let f): "missing field '\(f)'"
        case .wrongType(let f, let expected): "field '\(f)' must be \(expected)"
        case .invalidEventName: "field 'event' must be a non-empty name of printable ASCII (at most 200 bytes)"
        }
    }
}
