// SPDX-License-Identifier: MIT
import Foundation
import Logging
import SPPHookSystemd
import Testing

@Suite("journald logging")
struct JournalTests {
    @Test(arguments: [
        ("event", "SPP_EVENT"), ("seq", "SPP_SEQ"), ("category", "SPP_CATEGORY"), ("sink", "SINK"),
        ("lastSeq", "SPP_LASTSEQ"), ("request.id", "SPP_REQUEST_ID"), ("9lives", "SPP_9LIVES"), ("é", "SPP___"),
    ])
    func metadataKeysBecomeJournalFieldNames(_ key: String, _ field: String) {
        #expect(JournalLogHandler.fieldName(key) == field)
    }

    @Test(arguments: [
        (Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3), (.critical, 2),
    ])
    func levelsMapToSyslogPriorities(_ level: Logger.Level, _ priority: Int) {
        #expect(JournalLogHandler.priority(level) == priority)
    }

    @Test func journalIsDetectedOnlyWhenStderrIsTheNamedStream() {
        var st = stat()
        fstat(2, &st)
        #expect(JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino)"]))
        #expect(!JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "\(st.st_dev):\(st.st_ino + 1)"]))
        #expect(!JournalLogHandler.stderrIsJournal(environment: [:]))
        #expect(!JournalLogHandler.stderrIsJournal(environment: ["JOURNAL_STREAM": "garbage"]))
    }
}
