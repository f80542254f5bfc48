// SPDX-License-Identifier: MIT

/// A message with `{path.to.field}` placeholders filled from an event's payload
/// (`{data.id}`, `{data.client.name_f}`, `{event}`). A missing field becomes empty;
/// `{{` and `}}` are literal braces.
public enum MessageTemplate {
    public static func render(_ template: String, payload: JSONObject) -> String {
        var out = ""
        var i = template.startIndex
        while i < template.endIndex {
            let c = template[i]
            let next = template.index(after: i)
            if c == "{", next < template.endIndex, template[next] == "{" {
                out.append("{")
                i = template.index(after: next)
            } else if c == "}", next < template.endIndex, template[next] == "}" {
                out.append("}")
                i = template.index(after: next)
            } else if c == "{", let close = template[next...].firstIndex(of: "}") {
                out += value(at: String(template[next..<close]), in: payload)
                i = template.index(after: close)
            } else {
                out.append(c)
                i = next
            }
        }
        return out
    }

    static func value(at path: String, in payload: JSONObject) -> String {
        var node = JSONValue.object(payload)
        for part in path.split(separator: ".") {
            switch node {
            case .object(let o): node = o[String(part)] ?? .null
            case .array(let a): node = Int(part).flatMap { $0 >= 0 && $0 < a.count ? a[$0] : nil } ?? .null
            default: node = .null
            }
        }
        switch node {
        case .string(let s): return s
        case .number(let n): return n
        case .bool(let b): return b ? "true" : "false"
        case .null: return ""
        case .array, .object: return JSONWriter.string(node)
        }
    }
}

/// One page of an SPP list response: `{"data":[…],"links":{"next":…},"meta":{…}}`, or a bare array.
public struct APIPage: Sendable, Equatable {
    public var items: [JSONValue]
    public var next: String?

    public init?(_ value: JSONValue) {
        switch value {
        case .array(let items):
            self.items = items
            next = nil
        case .object(let o):
            guard case .array(let items)? = o["data"] else { return nil }
            self.items = items
            next = o["links"]?["next"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        default:
            return nil
        }
    }
}
