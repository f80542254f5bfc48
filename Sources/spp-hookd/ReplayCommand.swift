// SPDX-License-Identifier: MIT
import ArgumentParser
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Re-deliver events from the log (or a sink's dead letters) to one sink.",
        discussion: """
            Runs here, next to a running daemon or without one; the sink's filter and retry \
            policy apply, and what still fails is dead-lettered again. Receivers see the same \
            event id (SPP_EVENT_ID, the log's "id") and can drop what they already have.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String?

    @Option(help: "The sink to deliver to.")
    var sink: String

    @Option(help: "Only events with this seq or later.")
    var fromSeq: UInt64 = 0

    @Option(help: "Only events received at or after this time (RFC 3339, e.g. 2026-11-23T00:00:00.000Z, or Unix seconds).")
    var since: String?

    @Option(help: "Only these events (exact names or resource.* patterns); repeatable.")
    var event: [String] = []

    @Flag(help: "Deliver the sink's dead letters instead of the log (same as `dead-letters retry`).")
    var deadLetters = false

    @Flag(name: .shortAndLong, help: "Print a line for every event delivered (otherwise a progress line on a terminal).")
    var verbose = false

    func run() throws {
        let loaded = try loadOrExit(config)
        let sinkConfig = try findSink(sink, in: loaded.config)
        var selection = Replay.Selection(fromSeq: fromSeq, events: event.isEmpty ? nil : event)
        if let since {
            if let t = Timestamp(rfc3339: since) {
                selection.since = t
            } else if let seconds = Int64(since), seconds >= 0, seconds <= 253_402_300_799 {  // up to 9999-12-31
                selection.since = Timestamp(millisecondsSinceEpoch: seconds * 1000)
            } else {
                printError("spp-hookd: --since: expected RFC 3339 (2026-11-23T00:00:00.000Z) or Unix seconds up to year 9999, got \(since)")
                throw ExitCode(64)
            }
        }
        try replay(loaded.config, sinkConfig, selection: selection, deadLetters: deadLetters, verbose: verbose)
    }
}

/// Loads the config for an operator tool (the installed service's when the working directory
/// has none and no --config is given; says so on stderr) or exits 1 with the reason.
func loadOrExit(_ path: String?) throws -> ConfigLoader.Loaded {
    do {
        let loaded = try ConfigLoader.load(path, findInstalled: true)
        if loaded.searched { printError("spp-hookd: using \(loaded.source)") }
        return loaded
    } catch {
        printError("spp-hookd: \(error)")
        throw ExitCode(1)
    }
}

func findSink(_ name: String, in config: DaemonConfig) throws -> SinkConfig {
    guard let s = config.sinks.first(where: { $0.name == name }) else {
        let names = config.sinks.map(\.name).joined(separator: ", ")
        printError("spp-hookd: no sink named \"\(name)\" (configured: \(names.isEmpty ? "none" : names))")
        throw ExitCode(1)
    }
    return s
}

func replay(_ config: DaemonConfig, _ sink: SinkConfig, selection: Replay.Selection, deadLetters: Bool, verbose: Bool = false) throws {
    var logger = Logger(label: "spp-hookd")
    logger.logLevel = .warning
    let shown = ReplayProgress(verbose: verbose)
    let engine: Replay
    do {
        engine = try Replay(config: sink, index: config.sinks.firstIndex { $0.name == sink.name } ?? 0, api: config.api, dataDir: config.dataDir,
            environment: SecretResolver.processEnvironment(), hidden: config.secretVariableNames, logger: logger, progress: shown.note)
    } catch {
        printError("spp-hookd: \(error)")
        throw ExitCode(1)
    }
    var report = Replay.Report()
    var count = 0
    var taken: DeadLetters.Taken?
    do {
        if deadLetters {
            let (letters, files, unreadable) = try engine.takeDeadLetters()
            taken = files
            if unreadable > 0 {
                printError("spp-hookd: \(unreadable) dead letter(s) could not be read; kept in \(DeadLetters(dataDir: config.dataDir, sink: sink.name).path)")
            }
            count = letters.count
            report = engine.deliver(letters)
        } else {
            // In batches from where the selection starts: memory stays flat however much is replayed.
            try Replay.forEachBatch(dataDir: config.dataDir, config: sink, selection: selection, size: 4096,
                damaged: { printError("spp-hookd: \($0)") }) { batch in
                count += batch.count
                report.add(engine.deliver(batch))
                return true
            }
        }
    } catch {
        shown.finish()
        printError("spp-hookd: \(error)")
        throw ExitCode(1)
    }
    shown.finish()
    // Every letter is now delivered or written back as a new one: the taken files can go
    // (unless a letter could not be written back: then they stay, and the next retry takes them).
    if report.unrecorded == 0 {
        taken?.finish()
    } else if let taken {
        printError("spp-hookd: kept \(taken.files.joined(separator: ", ")): \(report.unrecorded) failure(s) could not be written back")
    }
    let skipped = report.skipped > 0 ? " (\(report.skipped) passed over by its where/transform)" : ""
    print("\(sink.name): \(count) event(s), \(report.delivered) delivered, \(report.failed) failed\(skipped)")
    if report.failed > 0 { throw ExitCode(1) }
}
