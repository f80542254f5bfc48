// SPDX-License-Identifier: MIT
import Glibc
public import Logging
import SPPHookCore
public import SPPHookPOSIX

/// One JSON object per line on stderr (`--log-format json`), for log shippers:
/// `{"time":"…","level":"info","message":"…","label":"spp-hookd", …metadata}`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String
    private let clock: any WallClock

    public init(label: String, clock: any WallClock = SystemWallClock()) {
        self.label = label
        self.clock = clock
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object = JSONObject([
            .init(key: "time", value: .string(clock.now().rfc3339)),
            .init(key: "level", value: .string(event.level.rawValue)),
            .init(key: "message", value: .string("\(event.message)")),
            .init(key: "label", value: .string(label)),
        ])
        let merged = event.merged(with: metadata)
        for key in merged.keys.sorted() where object[key] == nil {
            object.set(key, .string("\(merged[key]!)"))
        }
        var line = JSONWriter.bytes(.object(object))
        line.append(0x0A)
        // One write per line, so concurrent lines do not interleave.
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

extension LogEvent {
    /// The handler's metadata overlaid with this event's, plus its error as `error`: what a
    /// structured handler writes out.
    public func merged(with handlerMetadata: Logger.Metadata) -> Logger.Metadata {
        var merged = handlerMetadata
        if let extra = metadata { merged.merge(extra) { _, new in new } }
        if let error { merged["error"] = "\(error)" }
        return merged
    }
}
