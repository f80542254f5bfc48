// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import CJQ

/// Helpers over libjq's `jv` values. Every function here consumes the `jv` it is given
/// (jq's own convention), so callers never free it afterwards.
enum JQValue {
    /// A string's text, or anything else as compact JSON.
    static func text(of value: jv) -> String {
        if jv_get_kind(value) == JV_KIND_STRING {
            let s = String(decoding: bytes(ofString: value), as: UTF8.self)
            return s
        }
        return String(decoding: compactJSON(value), as: UTF8.self)
    }

    /// The value serialised as compact JSON (what `jq -c` prints).
    static func compactJSON(_ value: jv) -> [UInt8] {
        bytes(ofString: jv_dump_string(value, 0))
    }

    /// The UTF-8 bytes of a string value (which may hold NUL), then frees it.
    static func bytes(ofString value: jv) -> [UInt8] {
        defer { jv_free(value) }
        let count = Int(jv_string_length_bytes(jv_copy(value)))
        guard count > 0, let p = jv_string_value(value) else { return [] }
        return p.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }
}
