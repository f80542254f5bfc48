// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import CShims
import Glibc

/// Stop signals delivered through a self-pipe: a C handler writes the signal number, and
/// ``wait()`` reads it on an ordinary thread. Works whichever thread the kernel picks,
/// loses nothing once installed, and runs no Swift code in signal context.
struct StopSignals: Sendable {
    private let readFD: Int32

    static func install(_ signals: [Int32]) -> StopSignals {
        let fd = spp_install_signal_pipe(signals, Int32(signals.count))
        precondition(fd >= 0, "installing the stop-signal handler failed")
        return StopSignals(readFD: fd)
    }

    /// Blocks until a stop signal arrives; returns its number.
    func wait() -> Int32 {
        var byte: UInt8 = 0
        while true {
            let n = read(readFD, &byte, 1)
            if n == 1 { return Int32(byte) }
            if n < 0 && errno == EINTR { continue }
            return SIGTERM  // the pipe cannot close while we hold it; treat anything else as stop
        }
    }
}
