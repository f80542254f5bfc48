// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// Runs a sink's jq programs in front of it, on the sink's own delivery threads: `where`
/// picks the events it takes (first output `true`), `transform` makes what it sends. A
/// skipped event moves the cursor on; a program that fails for an event (a jq error)
/// dead-letters that event with jq's message, and the sink goes on. Every sink is wrapped,
/// so a reload can give programs to a sink that had none.
public final class ProgramSink: EventSink {
    /// A sink's compiled programs.
    public struct Compiled: Sendable {
        public var `where`: JQProgram?
        public var transform: JQProgram?
        public var output: SinkPrograms.Output

        /// Compiles the sink's programs; the error names the key (`sinks[2].where: jq: …`).
        public init(_ config: SinkConfig, index: Int) throws(JQProgram.CompileError) {
            let at = "sinks[\(index)]"
            self.where = try config.programs.where.map { s throws(JQProgram.CompileError) in
                try JQProgram(key: "\(at).where", source: s, sink: config.name)
            }
            self.transform = try config.programs.transform.map { s throws(JQProgram.CompileError) in
                try JQProgram(key: "\(at).transform", source: s, sink: config.name)
            }
            if case .orderMessage = config.kind { output = .text } else { output = .json }
        }

        init(where: JQProgram?, transform: JQProgram?, output: SinkPrograms.Output) {
            (self.where, self.transform, self.output) = (`where`, transform, output)
        }
    }

    /// What the programs make of one event.
    public enum Verdict: Equatable, Sendable {
        /// Deliver this (with `body` set when a transform made it).
        case send(body: [UInt8]?)
        /// `where` was not `true`, or `transform` produced nothing.
        case skip(reason: String)
        /// A program failed for this event.
        case fail(String)
    }

    public let inner: any EventSink
    private let programs: Mutex<Compiled>

    public init(inner: any EventSink, programs: Compiled) {
        self.inner = inner
        self.programs = Mutex(programs)
    }

    /// A sink without programs (until a reload gives it some).
    public convenience init(passThrough inner: any EventSink) {
        self.init(inner: inner, programs: Compiled(where: nil, transform: nil, output: .json))
    }

    public var name: String { inner.name }
    public var batchSize: Int { inner.batchSize }

    /// Programs from a reloaded configuration, already compiled: events from now on use them.
    public func update(_ compiled: Compiled) {
        programs.withLock { $0 = compiled }
    }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        let compiled = programs.withLock { $0 }
        guard compiled.where != nil || compiled.transform != nil else { return Self.oneEach(inner.deliver(events), events.count) }
        var outcomes = [DeliveryOutcome](repeating: .skipped, count: events.count)
        var passing: [LoggedEvent] = []
        var indices: [Int] = []
        for (i, event) in events.enumerated() {
            switch Self.verdict(compiled, for: event.line) {
            case .send(let body):
                var e = event
                e.body = body
                passing.append(e)
                indices.append(i)
            case .skip: outcomes[i] = .skipped
            case .fail(let why): outcomes[i] = .permanent(why)
            }
        }
        guard !passing.isEmpty else { return outcomes }
        for (i, outcome) in zip(indices, Self.oneEach(inner.deliver(passing), passing.count)) { outcomes[i] = outcome }
        return outcomes
    }

    /// Exactly `count` outcomes: an event a sink gave no outcome for would stay in flight
    /// for ever, so a short answer is made up with retries (and a long one cut).
    static func oneEach(_ outcomes: [DeliveryOutcome], _ count: Int) -> [DeliveryOutcome] {
        guard outcomes.count != count else { return outcomes }
        let missing = DeliveryOutcome.retry("the sink gave \(outcomes.count) outcome(s) for \(count) event(s)", after: nil)
        return Array(outcomes.prefix(count)) + Array(repeating: missing, count: max(0, count - outcomes.count))
    }

    /// Runs `where`, then `transform`, on one stored line (also `try-sink`'s answer).
    public static func verdict(_ compiled: Compiled, for line: [UInt8]) -> Verdict {
        if let program = compiled.where {
            switch program.first(line) {
            case .failure(let e): return .fail("\(program.key): \(e)")
            case .success(.value(_, _, isTrue: true)): break
            case .success(.value(let json, _, _)): return .skip(reason: "where gave \(String(decoding: json.prefix(80), as: UTF8.self))")
            case .success(.none): return .skip(reason: "where gave no output")
            }
        }
        guard let program = compiled.transform else { return .send(body: nil) }
        switch program.first(line) {
        case .failure(let e): return .fail("\(program.key): \(e)")
        case .success(.none): return .skip(reason: "transform gave no output")
        case .success(.value(let json, let text, _)):
            switch compiled.output {
            case .json: return .send(body: json)
            case .text:
                guard let text else {
                    return .fail("\(program.key): must produce a string (the message text), not \(String(decoding: json.prefix(80), as: UTF8.self))")
                }
                return .send(body: Array(text.utf8))
            }
        }
    }
}
