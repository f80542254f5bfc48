// SPDX-License-Identifier: MIT

/// The fixed-order prefix of an event-log line, read without a full JSON parse so that
/// start-up recovery and sinks stay fast over a large log:
/// `{"seq":N,"id":"…","receivedAt":"…","endpoint":"…","category":"…","event":"…",`.
public struct EventLogLine: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    public var receivedAt: Timestamp
    public var endpoint: String
    public var category: String
    public var event: String

    /// Reads the prefix of `line` (without newline). Returns nil for anything that is not a
    /// whole line as ``EventRecord`` writes it: a torn or foreign line.
    public init?(_ line: ArraySlice<UInt8>) {
        guard line.last == UInt8(ascii: "}"), !line.contains(0) else { return nil }
        var i = line.startIndex
        func expect(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard line.endIndex - i >= n else { return false }
            let p = s.utf8Start
            for k in 0..<n where line[i + k] != p[k] { return false }
            i += n
            return true
        }
        /// A JSON string whose opening quote was just consumed; escapes are decoded.
        func quoted() -> String? {
            let start = i
            var escaped = false
            while i < line.endIndex, line[i] != UInt8(ascii: "\"") {
                if line[i] == UInt8(ascii: "\\") {
                    escaped = true
                    i += 1
                }
                i += 1
            }
            guard i < line.endIndex else { return nil }
            defer { i += 1 }
            if !escaped { return String(decoding: line[start..<i], as: UTF8.self) }
            guard case .string(let s)? = try? JSONParser.parse(Array(line[(start - 1)...i])) else { return nil }
            return s
        }
        guard expect("{\"seq\":") else { return nil }
        var seq: UInt64 = 0
        let digitsStart = i
        while i < line.endIndex, line[i] >= 0x30, line[i] <= 0x39 {
            let (m, o1) = seq.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(line[i] - 0x30))
            guard !o1, !o2 else { return nil }
            seq = a
            i += 1
        }
        guard i > digitsStart, expect(",\"id\":\""), let id = quoted(), expect(",\"receivedAt\":\""),
            let at = quoted().flatMap(Timestamp.init(rfc3339:)), expect(",\"endpoint\":\""), let endpoint = quoted(),
            expect(",\"category\":\""), let category = quoted(), expect(",\"event\":\""), let event = quoted()
        else { return nil }
        self.seq = seq
        self.id = id
        self.receivedAt = at
        self.endpoint = endpoint
        self.category = category
        self.event = event
    }
}
