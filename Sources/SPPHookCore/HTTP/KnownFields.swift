// SPDX-License-Identifier: MIT

/// The header fields that decide a request's framing and connection handling, gathered in
/// one pass over the fields (names compared case-insensitively, values in arrival order).
struct KnownFields {
    var hosts = 0
    var transferEncoding: [String] = []
    var contentLength: [String] = []
    var connection: [String] = []
    var expect: [String] = []
    var upgrade = false

    init(_ headers: HTTPHeaders) {
        for field in headers {
            // The length first: most names match none, and that costs one comparison.
            switch field.name.utf8.count {
            case 4 where asciiCaseInsensitiveEquals(field.name, "host"): hosts += 1
            case 6 where asciiCaseInsensitiveEquals(field.name, "expect"): expect.append(field.value)
            case 7 where asciiCaseInsensitiveEquals(field.name, "upgrade"): upgrade = true
            case 10 where asciiCaseInsensitiveEquals(field.name, "connection"): connection.append(field.value)
            case 14 where asciiCaseInsensitiveEquals(field.name, "content-length"): contentLength.append(field.value)
            case 17 where asciiCaseInsensitiveEquals(field.name, "transfer-encoding"): transferEncoding.append(field.value)
            default: break
            }
        }
    }
}
