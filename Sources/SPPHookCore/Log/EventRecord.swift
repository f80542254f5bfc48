// SPDX-License-Identifier: MIT

/// One line of `events.jsonl`:
/// `{"seq":N,"id":"…","receivedAt":"…","endpoint":"…","category":"…","event":"…","created":N|null,"payload":{…}}`.
///
/// The line is built in two parts: everything after `seq` is serialized by the request
/// (in parallel, off the log's lock) and the log prepends `{"seq":N,` when it assigns the
/// number, so the writer's critical section stays tiny.
public struct EventRecord: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    public var receivedAt: Timestamp
    public var endpoint: String
    public var category: EventCategory
    public var event: String
    public var created: Int64?
    public var payload: JSONObject

    public init(
        seq: UInt64, id: String, receivedAt: Timestamp, endpoint: String, category: EventCategory,
        event: String, created: Int64?, payload: JSONObject
    ) {
        self.seq = seq
        self.id = id
        self.receivedAt = receivedAt
        self.endpoint = endpoint
        self.category = category
        self.event = event
        self.created = created
        self.payload = payload
    }

    /// The line after `{"seq":N,`, ending in `}\n`.
    public static func tail(
        id: String, receivedAt: Timestamp, endpoint: String, category: EventCategory, event: String,
        created: Int64?, payload: JSONObject
    ) -> [UInt8] {
        tail(id: id, receivedAt: receivedAt, endpoint: endpoint, category: category, event: event, created: created,
            payloadJSON: JSONWriter.bytes(.object(payload)))
    }

    /// As above, with the payload already serialized by ``JSONWriter``.
    public static func tail(
        id: String, receivedAt: Timestamp, endpoint: String, category: EventCategory, event: String,
        created: Int64?, payloadJSON: [UInt8]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(200 + payloadJSON.count)
        out.append(ascii: #""id":"#)
        JSONWriter.writeString(id, into: &out)
        out.append(ascii: #","receivedAt":""#)
        receivedAt.appendRFC3339(to: &out)
        out.append(ascii: #"","endpoint":"#)
        JSONWriter.writeString(endpoint, into: &out)
        out.append(ascii: #","category":""#)
        out.append(contentsOf: category.rawValue.utf8)
        out.append(ascii: #"","event":"#)
        JSONWriter.writeString(event, into: &out)
        out.append(ascii: #","created":"#)
        if let created { out.append(decimal: created) } else { out.append(ascii: "null") }
        out.append(ascii: #","payload":"#)
        out.append(contentsOf: payloadJSON)
        out.append(ascii: "}\n")
        return out
    }

    /// `{"seq":N,`
    public static func head(seq: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        appendHead(seq: seq, to: &out)
        return out
    }

    /// Appends ``head(seq:)`` to `out` (the log writer builds a batch's bytes this way).
    public static func appendHead(seq: UInt64, to out: inout [UInt8]) {
        out.append(ascii: #"{"seq":"#)
        out.append(decimal: seq)
        out.append(UInt8(ascii: ","))
    }

    public var line: [UInt8] {
        Self.head(seq: seq)
            + Self.tail(id: id, receivedAt: receivedAt, endpoint: endpoint, category: category, event: event,
                created: created, payload: payload)
    }

    /// Decodes a full line (without its newline). Used by tools and tests; start-up
    /// recovery uses the cheaper ``EventLogLine``.
    public init?(line: some Collection<UInt8>) {
        guard case .object(let o)? = try? JSONParser.parse(Array(line), maxDepth: JSONParser.storedMaxDepth),
            case .number(let seqText)? = o["seq"], let seq = UInt64(seqText),
            let id = o["id"]?.stringValue,
            let at = o["receivedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
            let endpoint = o["endpoint"]?.stringValue,
            let category = o["category"]?.stringValue.flatMap(EventCategory.init(rawValue:)),
            let event = o["event"]?.stringValue,
            case .object(let payload)? = o["payload"]
        else { return nil }
        var created: Int64?
        if case .number(let c)? = o["created"] { created = Int64(c) }
        self.init(seq: seq, id: id, receivedAt: at, endpoint: endpoint, category: category, event: event,
            created: created, payload: payload)
    }
}
