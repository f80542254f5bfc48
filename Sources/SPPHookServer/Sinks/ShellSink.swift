// SPDX-License-Identifier: MIT
import CShims
import Glibc
public import Logging
public import SPPHookCore
import SPPHookPOSIX

/// Runs a program per event: argv from config (never a shell string), the event's log line
/// (or what the sink's transform made of it) on stdin, and `SPP_EVENT`, `SPP_CATEGORY`,
/// `SPP_SEQ`, `SPP_EVENT_ID`, `SPP_ENDPOINT`, `SPP_CREATED`, `SPP_DATA_ID` in the environment (the daemon's own, minus systemd's
/// `NOTIFY_SOCKET`, `LISTEN_*`, `WATCHDOG_*`, `JOURNAL_STREAM`). Exit 0 = delivered.
///
/// Each run leads its own process group. On timeout the group gets SIGTERM, then SIGKILL
/// after a grace period; when the program exits, anything it left running in its group
/// gets SIGTERM, so hooks cannot pile up processes. Output is captured (first 4 KiB of
/// each stream) and logged.
public struct ShellSink: EventSink {
    public let name: String
    let command: [String]
    let timeout: Double
    let grace: Double
    let environment: [String: String]
    let logger: Logger

    static let removedVariables: Set<String> = [
        "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM",
    ]
    static let captureLimit = 4096

    public init(name: String, command: [String], timeout: Double, environment: [String: String], logger: Logger, grace: Double = 2) {
        self.name = name
        self.command = command
        self.timeout = timeout
        self.grace = grace
        self.environment = environment.filter { !Self.removedVariables.contains($0.key) }
        self.logger = logger
    }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        events.map(run)
    }

    func variables(for event: LoggedEvent) -> [String: String] {
        var env = environment
        env["SPP_EVENT"] = event.head.event
        env["SPP_CATEGORY"] = event.head.category
        env["SPP_SEQ"] = String(event.seq)
        env["SPP_EVENT_ID"] = event.head.id
        env["SPP_ENDPOINT"] = event.head.endpoint
        let record = EventRecord(line: event.line)
        env["SPP_CREATED"] = record?.created.map(String.init) ?? ""
        switch record?.payload["data"]?["id"] {
        case .string(let s)?: env["SPP_DATA_ID"] = s
        case .number(let n)?: env["SPP_DATA_ID"] = n
        default: env["SPP_DATA_ID"] = ""
        }
        return env
    }

    func run(_ event: LoggedEvent) -> DeliveryOutcome {
        var input = event.body ?? event.line
        input.append(0x0A)
        let result: ProcessRun.Result
        do {
            result = try ProcessRun.run(command, environment: variables(for: event), input: input, timeout: timeout, grace: grace,
                captureLimit: Self.captureLimit)
        } catch {
            return .retry("cannot start \(command[0]): \(error)", after: nil)
        }
        let meta: Logger.Metadata = ["sink": "\(name)", "seq": "\(event.seq)", "event": "\(event.head.event)"]
        if !result.stdout.isEmpty { logger.info("hook stdout: \(DisplayText.sanitized(result.stdoutText))", metadata: meta) }
        if !result.stderr.isEmpty { logger.info("hook stderr: \(DisplayText.sanitized(result.stderrText))", metadata: meta) }
        switch result.status {
        case .exited(0): return .delivered
        case .exited(let code):
            return .retry("exit status \(code)" + (result.stderr.isEmpty ? "" : ": \(DisplayText.sanitized(result.stderrText))"), after: nil)
        case .signaled(let sig): return .retry("killed by signal \(sig)", after: nil)
        case .timedOut: return .retry("timed out after \(timeout) s", after: nil)
        }
    }
}
