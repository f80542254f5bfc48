// SPDX-License-Identifier: MIT
/// One line of the event log as a sink sees it: the raw line (what file sinks append and
/// forward sinks send), its place in the file, the fields filters need, and what a
/// transform made of it.
public struct LoggedEvent: Sendable {
    public var line: [UInt8]
    public var start: Int64
    public var end: Int64
    public var head: EventLogLine
    /// What the sink sends instead of its default, when its `transform` made it: compact
    /// JSON, or a message's UTF-8 text.
    public var body: [UInt8]?

    public var seq: UInt64 { head.seq }
    public var category: EventCategory { EventCategory(rawValue: head.category) ?? .other }

    public init(line: [UInt8], start: Int64, end: Int64, head: EventLogLine, body: [UInt8]? = nil) {
        (self.line, self.start, self.end, self.head, self.body) = (line, start, end, head, body)
    }
}
