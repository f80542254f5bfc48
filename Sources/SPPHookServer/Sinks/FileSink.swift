// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// Appends each event's log line (or what the sink's transform made of it) to a file
/// (`{category}`/`{event}` in the path choose one per event), creating directories and
/// files with the configured mode, one fdatasync per file per batch.
public struct FileSink: EventSink {
    public let name: String
    let template: String
    let mode: Int

    /// The path has no placeholders: every event goes to the same file.
    let isFixed: Bool

    private struct EventKind: Hashable {
        var category: EventCategory
        var event: String
    }

    public init(name: String, path: String, mode: Int) {
        self.name = name
        self.template = path
        self.mode = mode
        self.isFixed = !path.contains("{category}") && !path.contains("{event}")
    }

    public var batchSize: Int { 512 }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        var byPath: [String: [Int]] = [:]
        var order: [String] = []
        var expanded: [EventKind: String] = [:]  // one expansion per kind of event in the batch
        for (i, e) in events.enumerated() {
            let p: String
            if isFixed {
                p = template
            } else {
                let kind = EventKind(category: e.category, event: e.head.event)
                if let known = expanded[kind] {
                    p = known
                } else {
                    p = PathTemplate.expand(template, category: e.category, event: e.head.event)
                    expanded[kind] = p
                }
            }
            if byPath[p] == nil { order.append(p) }
            byPath[p, default: []].append(i)
        }
        var outcomes = [DeliveryOutcome](repeating: .delivered, count: events.count)
        for p in order {
            let indices = byPath[p] ?? []  // every path in `order` has its indices
            var bytes: [UInt8] = []
            bytes.reserveCapacity(indices.reduce(0) { $0 + (events[$1].body ?? events[$1].line).count + 1 })
            for i in indices {
                bytes += events[i].body ?? events[i].line
                bytes.append(0x0A)
            }
            do throws(IOError) {
                try appendAndSync(p, bytes)
            } catch {
                for i in indices { outcomes[i] = .retry("\(error)", after: nil) }
            }
        }
        return outcomes
    }

    private func appendAndSync(_ path: String, _ bytes: [UInt8]) throws(IOError) {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]), mode: 0o750)
        }
        let file = POSIXAppendFile(adopting: try openForAppend(path, mode: mode_t(mode)), path: path)
        try repairTail(file.descriptor, path: path)
        try DurableAppend.append(bytes, to: file)
    }
}
