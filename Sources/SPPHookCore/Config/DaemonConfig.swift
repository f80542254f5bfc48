// SPDX-License-Identifier: MIT

/// The daemon's configuration, decoded and validated once, then frozen.
public struct DaemonConfig: Sendable, Equatable {
    public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

        /// `host:port`, `[v6]:port`.
        public init?(parsing text: String) {
            let hostPart: Substring
            let portPart: Substring
            if text.hasPrefix("[") {
                guard let close = text.firstIndex(of: "]") else { return nil }
                hostPart = text[text.index(after: text.startIndex)..<close]
                let after = text[text.index(after: close)...]
                guard after.hasPrefix(":") else { return nil }
                portPart = after.dropFirst()
            } else {
                guard let colon = text.lastIndex(of: ":") else { return nil }
                hostPart = text[..<colon]
                guard !hostPart.contains(":") else { return nil }
                portPart = text[text.index(after: colon)...]
            }
            guard !hostPart.isEmpty, let port = Int(portPart), (0...65535).contains(port) else { return nil }
            host = String(hostPart)
            self.port = port
        }

        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
    }

    public struct Endpoint: Sendable, Equatable {
        public var name: String
        public var path: String
        public var tokens: [SecretReference]
    }

    /// Connection and size limits. Defaults suit SPP (small JSON bodies, few clients).
    public struct Limits: Sendable, Equatable {
        public var maxBodyBytes = 1_048_576
        public var maxHeaderBytes = 16_384
        public var maxHeaderCount = 100
        public var maxConnections = 1024
        public var headerTimeoutSeconds = 10
        public var bodyTimeoutSeconds = 30
        public var idleTimeoutSeconds = 75
        /// Threads serving connections; nil: half the cores, at least one.
        public var eventLoops: Int?

        public init() {}

        public var parserLimits: HTTPParserLimits {
            HTTPParserLimits(
                maxRequestLineBytes: min(8192, maxHeaderBytes), maxHeaderBytes: maxHeaderBytes,
                maxHeaderCount: maxHeaderCount, maxBodyBytes: maxBodyBytes)
        }
    }

    /// Size-based rotation of the event log and retention of rotated segments. Retention
    /// never deletes a segment a sink cursor still needs.
    public struct LogSettings: Sendable, Equatable {
        /// Rotate `events.jsonl` once it reaches this size; nil: never.
        public var maxBytes: Int64?
        /// Keep at most this many rotated segments; nil: no limit.
        public var keepFiles: Int?
        /// Delete rotated segments older than this; nil: no limit.
        public var keepDays: Int?
        /// How often the dedup index and the log position are saved (`dedup.checkpoint`),
        /// so start-up reads only the log written after: at most this much log is read
        /// again after a crash. Also saved on rotation and on stop.
        public var checkpointSeconds = 60

        public init(maxBytes: Int64? = nil, keepFiles: Int? = nil, keepDays: Int? = nil, checkpointSeconds: Int = 60) {
            self.maxBytes = maxBytes
            self.keepFiles = keepFiles
            self.keepDays = keepDays
            self.checkpointSeconds = checkpointSeconds
        }
    }

    /// The admin listener: `/healthz` and `/metrics`. Off when the config has no `admin`.
    public struct AdminSettings: Sendable, Equatable {
        public var listen: ListenAddress
        public static let defaultListen = ListenAddress(host: "127.0.0.1", port: 9101)
    }

    /// HTTPS on the listener: PEM files, each a path or `credential:NAME` (a systemd
    /// credential). Re-read on SIGHUP, so renewed certificates apply without a restart.
    public struct TLSSettings: Sendable, Equatable {
        public var certificate: String
        public var privateKey: String

        public init(certificate: String, privateKey: String) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    public var listen: ListenAddress
    public var dataDir: String
    public var endpoints: [Endpoint]
    public var classify: [String: EventCategory]
    public var limits: Limits
    public var dedupWindowSeconds: Int
    public var sinks: [SinkConfig] = []
    /// SPP's REST API, for `api`, `order-messages` and spp-order-message sinks.
    public var api: APIConfig?
    public var log = LogSettings()
    public var admin: AdminSettings?
    public var tls: TLSSettings?
    /// This receiver's name in what it writes to shared places (a postgres sink's
    /// `instance` column); nil: the host name.
    public var instance: String?

    public var classifier: EventClassifier { EventClassifier(overrides: classify) }
}
