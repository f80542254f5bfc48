// SPDX-License-Identifier: MIT

/// A wall-clock instant in milliseconds since the Unix epoch, formatted as RFC 3339 UTC
/// (`2026-11-23T16:21:10.123Z`) without Foundation.
public struct Timestamp: Sendable, Equatable, Comparable, Hashable {
    public var millisecondsSinceEpoch: Int64

    public init(millisecondsSinceEpoch: Int64) {
        self.millisecondsSinceEpoch = millisecondsSinceEpoch
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

    public var rfc3339: String {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        appendRFC3339(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends ``rfc3339`` to `out` (the event log writes it into each line this way).
    public func appendRFC3339(to out: inout [UInt8]) {
        let ms = millisecondsSinceEpoch
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = Int(ms - seconds * 1000)
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secOfDay = Int(seconds - days * 86400)
        let (y, m, d) = Self.civil(fromDays: days)
        if (0...9999).contains(y) {
            out.append(digits: Int(y), width: 4)
        } else {
            let s = String(y)  // a year of more than four digits, or before year 0
            out.append(contentsOf: String(repeating: "0", count: max(0, 4 - s.count)).utf8)
            out.append(contentsOf: s.utf8)
        }
        out.append(UInt8(ascii: "-"))
        out.append(digits: m, width: 2)
        out.append(UInt8(ascii: "-"))
        out.append(digits: d, width: 2)
        out.append(UInt8(ascii: "T"))
        out.append(digits: secOfDay / 3600, width: 2)
        out.append(UInt8(ascii: ":"))
        out.append(digits: secOfDay / 60 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        out.append(digits: secOfDay % 60, width: 2)
        out.append(UInt8(ascii: "."))
        out.append(digits: millis, width: 3)
        out.append(UInt8(ascii: "Z"))
    }

    /// IMF-fixdate for the HTTP `Date` header (RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
    public var httpDate: String {
        let seconds = millisecondsSinceEpoch >= 0 ? millisecondsSinceEpoch / 1000 : (millisecondsSinceEpoch - 999) / 1000
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secOfDay = Int(seconds - days * 86400)
        let (y, m, d) = Self.civil(fromDays: days)
        let weekday = Int(((days % 7) + 11) % 7)  // 1970-01-01 was a Thursday
        let names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(names[weekday]), \(two(d)) \(months[m - 1]) \(y) \(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60)) GMT"
    }

    /// Parses the exact form ``rfc3339`` writes (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
    public init?(rfc3339 s: String) {
        let b = Array(s.utf8)
        guard b.count == 24, b[4] == 0x2D, b[7] == 0x2D, b[10] == UInt8(ascii: "T"), b[13] == 0x3A, b[16] == 0x3A,
            b[19] == 0x2E, b[23] == UInt8(ascii: "Z")
        else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13),
            let mi = num(14..<16), let se = num(17..<19), let ms = num(20..<23),
            (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61
        else { return nil }
        let days = Self.days(fromCivil: Int64(y), mo, d)
        millisecondsSinceEpoch = ((days * 86400) + Int64(h * 3600 + mi * 60 + se)) * 1000 + Int64(ms)
    }

    // Howard Hinnant's civil-from-days and days-from-civil algorithms.
    static func civil(fromDays z0: Int64) -> (Int64, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = Int(doy - (153 * mp + 2) / 5 + 1)
        let m = Int(mp < 10 ? mp + 3 : mp - 9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func days(fromCivil y0: Int64, _ m: Int, _ d: Int) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
