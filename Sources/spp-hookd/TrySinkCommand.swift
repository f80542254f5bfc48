// SPDX-License-Identifier: MIT
import ArgumentParser
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct TrySinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "try-sink",
        abstract: "Run a sink's where and transform on a sample or a logged event; print what it would send.",
        discussion: """
            Nothing is delivered. Standard output gets exactly what the sink would send (the \
            request body of a forward sink, a shell hook's stdin, a file sink's line, an order \
            message's text); standard error says which event it was and what the programs \
            decided. Exit status 0: the sink would send it; 2: it would pass over the event \
            (its categories/events filter or where); 1: a program failed for this event \
            (the sink would dead-letter it) or the options are wrong.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String?

    @Option(help: "The sink whose programs to run.")
    var sink: String

    @Option(help: "A sample event (see `send-test --list`); the default is order.created.")
    var event: String?

    @Option(help: "The logged event with this seq instead of a sample.")
    var seq: UInt64?

    func validate() throws {
        if event != nil && seq != nil { throw ValidationError("give --event or --seq, not both") }
        if let event, SampleEvents.sample(for: event) == nil {
            throw ValidationError("no sample for \(event); `spp-hookd send-test --list` shows them")
        }
    }

    func run() throws {
        let loaded = try loadOrExit(config)
        let sinkConfig = try findSink(sink, in: loaded.config)
        let index = loaded.config.sinks.firstIndex { $0.name == sink } ?? 0
        let compiled: ProgramSink.Compiled
        do {
            compiled = try SinkFactory.compilePrograms(sinkConfig, index: index)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        let (line, what) = try input(loaded.config)
        guard let head = EventLogLine(line[...]) else {
            printError("spp-hookd: \(what) is not a readable log line")
            throw ExitCode(1)
        }
        let category = EventCategory(rawValue: head.category) ?? .other
        guard sinkConfig.filter.matches(category: category, event: head.event) else {
            printError("spp-hookd: \(what) (\(head.event), \(category.rawValue)): not taken by the sink's categories/events filter")
            throw ExitCode(2)
        }
        switch ProgramSink.verdict(compiled, for: line) {
        case .skip(let reason):
            printError("spp-hookd: \(what) (\(head.event)): passed over: \(reason)")
            throw ExitCode(2)
        case .fail(let why):
            printError("spp-hookd: \(what) (\(head.event)): would be dead-lettered: \(why)")
            throw ExitCode(1)
        case .send(let body):
            let made = body == nil ? "" : " (made by its transform)"
            printError("spp-hookd: \(what) (\(head.event)): sink \(sink) would send\(made):")
            let bytes = body ?? Self.defaultBody(sinkConfig, line: line)
            print(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The stored line to run the programs on, and how to name it in messages.
    private func input(_ config: DaemonConfig) throws -> (line: [UInt8], what: String) {
        if let seq {
            let events: [LoggedEvent]
            do {
                events = try Replay.select(dataDir: config.dataDir, config: SinkConfig(name: "try", kind: .file(path: "", mode: 0)),
                    selection: Replay.Selection(fromSeq: seq), limit: 1, damaged: { printError("spp-hookd: \($0)") })
            } catch {
                printError("spp-hookd: cannot read the event log in \(config.dataDir): \(error)")
                throw ExitCode(1)
            }
            guard let e = events.first, e.seq == seq else {
                printError("spp-hookd: no event with seq \(seq) in \(config.dataDir)")
                throw ExitCode(1)
            }
            return (e.line, "seq \(seq)")
        }
        let name = event ?? "order.created"
        guard let sample = SampleEvents.sample(for: name), let line = Self.storedLine(sample, config: config) else {
            printError("spp-hookd: cannot build the sample \(name)")
            throw ExitCode(1)
        }
        return (line, "the sample")
    }

    /// The sample as the daemon would store it on the config's first endpoint.
    static func storedLine(_ sample: SampleEvents.Sample, config: DaemonConfig) -> [UInt8]? {
        let now = SystemWallClock().now()
        let body = SampleEvents.envelope(sample, created: now.millisecondsSinceEpoch / 1000, token: "")
        guard let object = try? WebhookEnvelope.parseBody(body, contentType: "application/json"),
            let envelope = try? WebhookEnvelope(validating: object)
        else { return nil }
        let endpoint = config.endpoints.first?.name ?? "main"
        let id = WebhookHandler.eventID(endpoint: endpoint, payloadJSON: envelope.payloadJSON)
        let tail = EventRecord.tail(id: id, receivedAt: now, endpoint: endpoint, category: config.classifier.classify(sample.event),
            event: sample.event, created: envelope.created, payloadJSON: envelope.payloadJSON)
        return EventRecord.head(seq: 1) + tail.dropLast()  // without the newline
    }

    /// What the sink sends without a transform, as the sink itself makes it.
    static func defaultBody(_ config: SinkConfig, line: [UInt8]) -> [UInt8] {
        switch config.kind {
        case .forward(let f): return ForwardSink.body(ofLine: line, f.body)
        case .postgres: return PostgresSink.createdAndPayload(line).payload
        case .orderMessage(let message?, _, _):
            guard let record = EventRecord(line: line) else { return line }
            return Array(MessageTemplate.render(message, payload: record.payload).utf8)
        case .file, .shell, .orderMessage: return line
        }
    }
}
