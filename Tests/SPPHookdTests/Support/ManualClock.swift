// SPDX-License-Identifier: MIT
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Synchronization

/// A clock the test moves by hand.
final class ManualClock: WallClock {
    let ms: Mutex<Int64>
    init(_ ms: Int64 = 1_795_450_870_000) { self.ms = Mutex(ms) }
    func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: ms.withLock { $0 }) }
    func advance(seconds: Int64) { ms.withLock { $0 += seconds * 1000 } }
}

extension Logger {
    /// A logger for in-process tests: only critical messages.
    static var quiet: Logger {
        var l = Logger(label: "test")
        l.logLevel = .critical
        return l
    }
}
