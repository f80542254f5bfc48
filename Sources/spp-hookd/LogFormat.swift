// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import ArgumentParser
import Glibc
import Logging
import SPPHookServer
import SPPHookSystemd

/// How log lines are written.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    /// journald when stderr is the journal (`JOURNAL_STREAM`), else text.
    case auto
    /// Readable lines on stderr.
    case text
    /// One JSON object per line on stderr.
    case json
    /// Structured entries through `sd_journal_sendv`.
    case journal

    func bootstrap(level: Logger.Level, environment: [String: String]) {
        var format = self
        if format == .auto {
            format = JournalLogHandler.stderrIsJournal(environment: environment) ? .journal : .text
        }
        if format == .journal && access("/run/systemd/journal/socket", F_OK) != 0 {
            // libsystemd drops entries silently when journald is absent: keep the logs visible.
            printError("spp-hookd: no journald socket (/run/systemd/journal/socket); logging text to stderr")
            format = .text
        }
        let chosen = format
        LoggingSystem.bootstrap { label in
            switch chosen {
            case .journal:
                var h = JournalLogHandler()
                h.logLevel = level
                return h
            case .json:
                var h = JSONLogHandler(label: label)
                h.logLevel = level
                return h
            case .auto, .text:
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = level
                return h
            }
        }
    }
}
