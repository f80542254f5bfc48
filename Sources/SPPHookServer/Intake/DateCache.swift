// SPDX-License-Identifier: MIT
import Glibc
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// The `Date` header value, formatted once per second rather than once per response.
final class DateCache: Sendable {
    static let shared = DateCache()
    private let cached = Mutex<(second: Int, text: String)>((-1, ""))

    var current: String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let second = Int(ts.tv_sec)
        return cached.withLock { c in
            if c.second != second {
                c = (second, Timestamp(millisecondsSinceEpoch: Int64(second) * 1000).httpDate)
            }
            return c.text
        }
    }
}
