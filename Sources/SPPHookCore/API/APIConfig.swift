// SPDX-License-Identifier: MIT

/// How to reach SPP's REST API: base URL (with its path prefix), key, optional version.
public struct APIConfig: Sendable, Equatable {
    public var baseURL: HTTPURL
    public var key: SecretReference
    /// Sent as `X-Api-Version` when set (e.g. `2024-03-05`).
    public var apiVersion: String?

    public init(baseURL: HTTPURL, key: SecretReference, apiVersion: String? = nil) {
        self.baseURL = baseURL
        self.key = key
        self.apiVersion = apiVersion
    }

    /// `https://NAME.spp.io/api/v1`, as SPP's integrations build it from a subdomain.
    public static func baseURL(subdomain: String) -> HTTPURL? {
        guard !subdomain.isEmpty, subdomain.utf8.allSatisfy({ HTTPSyntax.isTokenChar($0) && $0 != UInt8(ascii: "/") }) else {
            return nil
        }
        return HTTPURL("https://\(subdomain).spp.io/api/v1")
    }

    /// The request target for `path` relative to the base URL's path, plus `query`.
    public func target(_ path: String, query: [(String, String)] = []) -> String {
        var base = baseURL.target
        if let q = base.firstIndex(of: "?") { base = String(base[..<q]) }
        while base.hasSuffix("/") { base.removeLast() }
        var rest = Substring(path)
        while rest.hasPrefix("/") { rest = rest.dropFirst() }
        var t = base + "/" + rest
        if !query.isEmpty {
            t += (rest.contains("?") ? "&" : "?") + query.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
        }
        return t
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
public func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.append(Character(Unicode.Scalar(b)))
        default:
            let hex = Array("0123456789ABCDEF")
            out += "%\(hex[Int(b >> 4)])\(hex[Int(b & 15)])"
        }
    }
    return out
}

extension ConfigDecoder {
    static func decodeAPI(_ value: JSONValue?) throws(ConfigError) -> APIConfig? {
        guard let value else { return nil }
        guard case .object(let o) = value else { throw ConfigError("api", "must be an object") }
        try allowKeys(o, ["baseURL", "subdomain", "key", "apiVersion"], at: "api")
        let url: HTTPURL
        switch (o["baseURL"], o["subdomain"]) {
        case (.some, .some): throw ConfigError("api", "give baseURL or subdomain, not both")
        case (.some(let v), nil):
            guard case .string(let s) = v, let u = HTTPURL(s) else { throw ConfigError("api.baseURL", "must be an http(s) URL such as https://acme.spp.io/api/v1") }
            url = u
        case (nil, .some(let v)):
            guard case .string(let s) = v, let u = APIConfig.baseURL(subdomain: s) else { throw ConfigError("api.subdomain", "must be a subdomain such as acme") }
            url = u
        case (nil, nil): throw ConfigError("api.baseURL", "is required (or api.subdomain)")
        }
        let key = try string(o["key"], "api.key", default: nil)
        guard !key.isEmpty else { throw ConfigError("api.key", "must not be empty") }
        var version: String?
        switch o["apiVersion"] {
        case nil, .null?: version = nil
        case .string(let s)?: version = s
        case .some(let v): throw ConfigError("api.apiVersion", "must be a string or null, not \(v.typeName)")
        }
        return APIConfig(baseURL: url, key: SecretReference(parsing: key), apiVersion: version)
    }
}
