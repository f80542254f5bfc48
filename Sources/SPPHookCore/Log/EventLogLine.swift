// SPDX-License-Identifier: MIT

/// The fixed-order prefix of an event-log line, read without a full JSON parse so that
/// start-up recovery over a large log stays fast: `{"seq":N,"id":"…","receivedAt":"…",`.
public struct EventLogLine: Sendable, Equatable {
    public var seq: UInt64
    public var id: String
    public var receivedAt: Timestamp
    public var category: String

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
        func quoted() -> String? {
            let start = i
            while i < line.endIndex, line[i] != UInt8(ascii: "\""), line[i] != UInt8(ascii: "\\") { i += 1 }
            guard i < line.endIndex, line[i] == UInt8(ascii: "\"") else { return nil }
            defer { i += 1 }
            return String(decoding: line[start..<i], as: UTF8.self)
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
            let at = quoted().flatMap(Timestamp.init(rfc3339:)), expect(",\"endpoint\":\"")
        else { return nil }
        // The endpoint name may contain escapes in theory; skip it as a JSON string.
        while i < line.endIndex, line[i] != UInt8(ascii: "\"") {
            i += line[i] == UInt8(ascii: "\\") ? 2 : 1
        }
        i += 1
        guard i <= line.endIndex, expect(",\"category\":\""), let category = quoted() else { return nil }
        self.seq = seq
        self.id = id
        self.receivedAt = at
        self.category = category
    }
}
