// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore

/// All configured sinks, each with its own runner and cursor.
public final class Fanout: Sendable {
    public let runners: [SinkRunner]

    /// Builds the sinks and their runners (creating cursors for new sinks); does not start them.
    public init(
        sinks: [SinkConfig], log: EventLog, dataDir: String, environment: [String: String], clock: any WallClock, logger: Logger
    ) throws(IOError) {
        var runners: [SinkRunner] = []
        for config in sinks {
            let sink = Self.makeSink(config, environment: environment, logger: logger)
            runners.append(try SinkRunner(config: config, sink: sink, log: log, dataDir: dataDir, clock: clock, logger: logger))
        }
        self.runners = runners
    }

    public static func makeSink(_ config: SinkConfig, environment: [String: String], logger: Logger) -> any EventSink {
        switch config.kind {
        case .file(let path, let mode):
            FileSink(name: config.name, path: path, mode: mode)
        case .shell(let command, let timeout, _):
            ShellSink(name: config.name, command: command, timeout: timeout, environment: environment, logger: logger)
        }
    }

    public func start() {
        for r in runners { r.start() }
    }

    /// Lets deliveries in flight finish (each runner gets up to `timeout`), then saves cursors.
    public func stop(timeout: Double) {
        for r in runners { r.stop(timeout: timeout) }
    }

    public var failingSinks: Int { runners.filter { $0.status.failing }.count }
}
