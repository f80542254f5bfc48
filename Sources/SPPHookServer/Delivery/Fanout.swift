// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX

/// All configured sinks, each with its own runner and cursor (built by ``SinkFactory``),
/// started and stopped together.
public final class Fanout: Sendable {
    public let runners: [SinkRunner]

    /// Builds the sinks and their runners (creating cursors for new sinks); does not start them.
    /// `hidden`: variables hooks must not inherit (those the config's secrets come from).
    public init(
        sinks: [SinkConfig], api: APIConfig? = nil, log: EventLog, dataDir: String, environment: [String: String],
        hidden: Set<String> = [], instance: String = SinkFactory.hostName(), clock: any WallClock, metrics: DaemonMetrics? = nil,
        logger: Logger
    ) throws(SinkFactory.SetupError) {
        var runners: [SinkRunner] = []
        for (i, config) in sinks.enumerated() {
            let sink = try SinkFactory.makeSink(config, index: i, api: api, environment: environment, hidden: hidden, instance: instance,
                clock: clock, logger: logger)
            do {
                runners.append(try SinkRunner(
                    config: config, sink: sink, log: log, dataDir: dataDir, clock: clock, metrics: metrics, logger: logger))
            } catch {
                throw SinkFactory.SetupError(description: "sinks[\(i)]: cannot create its cursor in \(dataDir): \(error)")
            }
        }
        self.runners = runners
    }

    /// Gives each sink the programs of `sinks` (a reloaded configuration that differs from the
    /// running one only in programs). All compile first, or nothing changes.
    public func updatePrograms(_ sinks: [SinkConfig]) throws(SinkFactory.SetupError) {
        var compiled: [ProgramSink.Compiled] = []
        for (i, config) in sinks.enumerated() { compiled.append(try SinkFactory.compilePrograms(config, index: i)) }
        for (runner, programs) in zip(runners, compiled) { runner.programSink.update(programs) }
    }

    public func start() {
        for r in runners { r.start() }
    }

    /// Lets deliveries in flight finish, all sinks at once, for at most `timeout` in total;
    /// each sink saves its cursor. What is still running then is delivered again after restart.
    public func stop(timeout: Double) {
        let deadline = monotonicSeconds() + timeout
        for r in runners { r.beginStopping() }
        for r in runners { r.waitUntilStopped(timeout: max(0, deadline - monotonicSeconds())) }
    }

    public var failingSinks: Int { runners.filter { $0.status.failing }.count }

    /// The oldest log position a sink still needs (retention keeps the segment holding it).
    public var oldestCursorOffset: Int64 {
        runners.map(\.cursorOffset).min() ?? Int64.max
    }
}
