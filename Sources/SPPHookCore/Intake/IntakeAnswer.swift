// SPDX-License-Identifier: MIT

/// The answers to an accepted event, once the log has decided: `{"ok":true,"seq":N,
/// "category":"…"}` for a stored event, with `"duplicate":true` for a redelivery. Written
/// straight into bytes: every stored event is answered this way.
public enum IntakeAnswer {
    public static func stored(seq: UInt64, category: EventCategory) -> HTTPResponse {
        answer(seq: seq, category: category, duplicate: false)
    }

    public static func duplicate(seq: UInt64, category: EventCategory) -> HTTPResponse {
        answer(seq: seq, category: category, duplicate: true)
    }

    private static func answer(seq: UInt64, category: EventCategory, duplicate: Bool) -> HTTPResponse {
        var body: [UInt8] = []
        body.reserveCapacity(64)
        body.append(ascii: duplicate ? #"{"ok":true,"duplicate":true,"seq":"# : #"{"ok":true,"seq":"#)
        body.append(decimal: seq)
        body.append(ascii: #","category":"#)
        JSONWriter.writeString(category.rawValue, into: &body)
        body.append(ascii: "}\n")
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json")], body: body)
    }
}
