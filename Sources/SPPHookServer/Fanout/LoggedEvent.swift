// SPDX-License-Identifier: MIT
public import SPPHookCore

/// One line of the event log as a sink sees it: the raw line (what file sinks append and
/// forward sinks send), its place in the file, and the fields filters need.
public struct LoggedEvent: Sendable {
    public var line: [UInt8]
    public var start: Int64
    public var end: Int64
    public var head: EventLogLine

    public var seq: UInt64 { head.seq }
    public var category: EventCategory { EventCategory(rawValue: head.category) ?? .other }
}
