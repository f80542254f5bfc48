// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("Event log records and timestamps")
struct EventRecordTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"), (1_558_608_668_123, "2019-05-23T10:51:08.123Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"), (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        (1_795_450_870_007, "2026-11-23T16:21:10.007Z"),
    ])
    func rfc3339(_ ms: Int64, _ text: String) {
        #expect(Timestamp(millisecondsSinceEpoch: ms).rfc3339 == text)
        #expect(Timestamp(rfc3339: text)?.millisecondsSinceEpoch == ms)
    }

    @Test(arguments: [
        (Int64(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT"), (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
        (1_795_450_870_007, "Mon, 23 Nov 2026 16:21:10 GMT"), (951_782_400_000, "Tue, 29 Feb 2000 00:00:00 GMT"),
    ])
    func httpDate(_ ms: Int64, _ text: String) {
        #expect(Timestamp(millisecondsSinceEpoch: ms).httpDate == text)
    }

    @Test(arguments: ["2026-11-23T16:21:10Z", "2026-13-23T16:21:10.000Z", "2026-11-23 16:21:10.000Z", ""])
    func rejectsOtherTimestampForms(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    static let record = EventRecord(
        seq: 42, id: "0123456789abcdef0123456789abcdef", receivedAt: Timestamp(millisecondsSinceEpoch: 1_795_450_870_007),
        endpoint: "main", category: .orders, event: "order.created", created: 1_558_608_668,
        payload: JSONObject([.init(key: "event", value: .string("order.created")), .init(key: "data", value: .object(JSONObject()))]))

    @Test func lineFormat() {
        let line = String(decoding: Self.record.line, as: UTF8.self)
        #expect(line == #"{"seq":42,"id":"0123456789abcdef0123456789abcdef","receivedAt":"2026-11-23T16:21:10.007Z","endpoint":"main","category":"orders","event":"order.created","created":1558608668,"payload":{"event":"order.created","data":{}}}"# + "\n")
        #expect(EventRecord(line: Self.record.line.dropLast()) == Self.record)
    }

    @Test func prefixReaderAgreesWithFullDecoder() {
        let line = Self.record.line.dropLast()
        let prefix = EventLogLine(line)
        #expect(prefix?.seq == 42)
        #expect(prefix?.id == Self.record.id)
        #expect(prefix?.receivedAt == Self.record.receivedAt)
        #expect(prefix?.category == "orders")
        #expect(prefix?.event == "order.created")
        #expect(prefix?.endpoint == "main")
    }

    @Test(arguments: [#"we"ird\event"#, "quote\"", "back\\slash", "unicode.é"])
    func escapedNamesSurviveThePrefixReader(_ event: String) {
        var record = Self.record
        record.event = event
        record.endpoint = "end\"point"
        let prefix = EventLogLine(record.line.dropLast())
        #expect(prefix?.event == event)
        #expect(prefix?.endpoint == "end\"point")
        #expect(prefix?.seq == 42)
    }

    @Test func prefixReaderRejectsTornAndForeignLines() {
        let line = Array(Self.record.line.dropLast())
        for cut in 1..<line.count {
            // The full decoder (used on the log's last MiB, where torn writes land) rejects
            // every cut; the prefix reader rejects every cut that does not end in "}".
            #expect(EventRecord(line: line[..<cut]) == nil, "full decoder accepted a line cut at \(cut)")
            if line[cut - 1] != UInt8(ascii: "}") {
                #expect(EventLogLine(line[..<cut]) == nil, "prefix reader accepted a line cut at \(cut)")
            }
        }
        #expect(EventLogLine(ArraySlice(#"{"hello":"world"}"#.utf8)) == nil)
        var zeroed = line
        zeroed[60] = 0
        #expect(EventLogLine(zeroed[...]) == nil)
    }

    /// The word-at-a-time NUL scan, at every position of every length up to 40 (word
    /// boundaries, the byte-wise tail), and with bytes whose high bit is set beside it.
    @Test(arguments: 1...40)
    func aNULIsFoundWhereverItIs(_ length: Int) {
        for filler in [UInt8(ascii: "x"), 0x80, 0xFF, 0x01] {
            let clean = [UInt8](repeating: filler, count: length)
            #expect(!clean.withUnsafeBufferPointer(EventLogLine.containsNUL))
            for at in 0..<length {
                var bytes = clean
                bytes[at] = 0
                #expect(bytes.withUnsafeBufferPointer(EventLogLine.containsNUL), "length \(length), NUL at \(at), filler \(filler)")
            }
        }
    }
}
