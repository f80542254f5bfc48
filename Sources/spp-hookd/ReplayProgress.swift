// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import Glibc
import SPPHookServer

/// What `replay` shows while it runs: on a terminal, one progress line rewritten a few times
/// a second; with --verbose, a line per delivered event. Retries and failures always get
/// a line of their own.
final class ReplayProgress {
    private let verbose: Bool
    private let terminal = isatty(1) == 1
    private var delivered = 0
    private var drawn = false
    private let started = monotonicSeconds()
    private var lastDraw = 0.0

    init(verbose: Bool) {
        self.verbose = verbose
    }

    func note(_ note: Replay.Note) {
        switch note {
        case .delivered(let seq, let event):
            delivered += 1
            if verbose {
                print("delivered seq \(seq) \(event)")
            } else if terminal, monotonicSeconds() - lastDraw >= 0.2 {
                draw()
            }
        case .problem(let text):
            if drawn { print("\r\u{1B}[K", terminator: "") }
            print(text)
            drawn = false
        }
    }

    /// Ends the progress line (with the final count).
    func finish() {
        guard drawn || (terminal && !verbose && delivered > 0) else { return }
        draw()
        print()
    }

    private func draw() {
        lastDraw = monotonicSeconds()
        let rate = Double(delivered) / max(0.001, lastDraw - started)
        print("\r\u{1B}[Kdelivered \(delivered) (\(Int(rate)) events/s)", terminator: "")
        fflush(nil)
        drawn = true
    }
}
