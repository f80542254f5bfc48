// SPDX-License-Identifier: MIT
internal import CSystemd
import SPPHookPOSIX
import Glibc
public import Logging
import SPPHookServer

/// Writes structured journal entries with `sd_journal_sendv`: MESSAGE, PRIORITY,
/// SYSLOG_IDENTIFIER, and each metadata item as its own field (SPP_EVENT, SPP_SEQ, …),
/// so `journalctl SPP_EVENT=order.created` works.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let identifier: String

    public init(identifier: String = "spp-hookd") {
        self.identifier = identifier
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(Self.priority(event.level))",
            "SYSLOG_IDENTIFIER=\(identifier)",
        ]
        let merged = event.merged(with: metadata)
        for (key, value) in merged {
            fields.append("\(Self.fieldName(key))=\(value)")
        }
        if !Self.send(fields) {
            // The journal refused (no socket, say): never lose the line, write it to stderr.
            let line = Array("<\(Self.priority(event.level))>\(event.message) \(merged.map { "\($0)=\($1)" }.sorted().joined(separator: " "))\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }

    /// Sends one entry; false when the journal did not take it.
    static func send(_ fields: [String]) -> Bool {
        var buffers = fields.map { Array($0.utf8) }
        var iovecs: [iovec] = []
        iovecs.reserveCapacity(buffers.count)
        for i in buffers.indices {
            buffers[i].withUnsafeMutableBytes { iovecs.append(iovec(iov_base: $0.baseAddress, iov_len: $0.count)) }
        }
        // The pointers stay valid: `buffers` is not mutated again before the call returns.
        return withExtendedLifetime(buffers) {
            sd_journal_sendv(iovecs, Int32(iovecs.count)) >= 0
        }
    }

    /// syslog(3) priorities.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name for a metadata key: upper case `[A-Z0-9_]`, never starting with
    /// `_` or a digit. Well-known keys get short names (SPP_EVENT, SPP_SEQ, SINK).
    public static func fieldName(_ key: String) -> String {
        switch key {
        case "sink": return "SINK"
        default: break
        }
        var name = "SPP_"
        for c in key.utf8 {
            switch c {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): name.append(Character(Unicode.Scalar(c - 32)))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): name.append(Character(Unicode.Scalar(c)))
            default: name.append("_")
            }
        }
        return String(name.prefix(64))
    }

    /// True when stderr is connected to the journal (`JOURNAL_STREAM` names its device and inode).
    public static func stderrIsJournal(environment: [String: String]) -> Bool {
        guard let value = environment["JOURNAL_STREAM"] else { return false }
        let parts = value.split(separator: ":")
        guard parts.count == 2, let dev = UInt64(parts[0]), let ino = UInt64(parts[1]) else { return false }
        var st = stat()
        guard fstat(2, &st) == 0 else { return false }
        return UInt64(st.st_dev) == dev && UInt64(st.st_ino) == ino
    }
}
