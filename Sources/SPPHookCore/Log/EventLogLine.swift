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
        // Over the raw bytes: sinks and replay read every line of the log through this, and
        // element access on the slice (bounds checks, the NUL scan) was an eighth of a replay.
        guard let head = line.withUnsafeBufferPointer({ Self.parse($0) }) else { return nil }
        self = head
    }

    private init(seq: UInt64, id: String, receivedAt: Timestamp, endpoint: String, category: String, event: String) {
        (self.seq, self.id, self.receivedAt) = (seq, id, receivedAt)
        (self.endpoint, self.category, self.event) = (endpoint, category, event)
    }

    private static func parse(_ line: UnsafeBufferPointer<UInt8>) -> EventLogLine? {
        guard line.last == UInt8(ascii: "}"), !containsNUL(line) else { return nil }
        var i = 0
        func expect(_ s: StaticString) -> Bool {
            let n = s.utf8CodeUnitCount
            guard line.count - i >= n else { return false }
            let p = s.utf8Start
            for k in 0..<n where line[i + k] != p[k] { return false }
            i += n
            return true
        }
        /// A JSON string whose opening quote was just consumed; escapes are decoded.
        func quoted() -> String? {
            let start = i
            var escaped = false
            while i < line.count, line[i] != UInt8(ascii: "\"") {
                if line[i] == UInt8(ascii: "\\") {
                    escaped = true
                    i += 1
                }
                i += 1
            }
            guard i < line.count else { return nil }
            defer { i += 1 }
            let raw = UnsafeBufferPointer(rebasing: line[start..<i])
            if !escaped { return String(decoding: raw, as: UTF8.self) }
            guard case .string(let s)? = try? JSONParser.parse(Array(line[(start - 1)...i])) else { return nil }
            return s
        }
        guard expect("{\"seq\":") else { return nil }
        var seq: UInt64 = 0
        let digitsStart = i
        while i < line.count, line[i] >= 0x30, line[i] <= 0x39 {
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
        return EventLogLine(seq: seq, id: id, receivedAt: at, endpoint: endpoint, category: category, event: event)
    }

    /// Whether a NUL byte is in `bytes` (a sign of a hole left by a crash), eight bytes at a time.
    public static func containsNUL(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return false }
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            let w = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
            // Non-zero exactly when some byte of w is zero.
            if (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < n {
            if base[i] == 0 { return true }
            i += 1
        }
        return false
    }
}
