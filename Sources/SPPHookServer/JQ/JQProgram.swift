// SPDX-License-Identifier: MIT
import CJQ
import SPPHookCore
import SPPHookPOSIX
import Synchronization

/// A jq program (Debian's libjq, jq 1.6) compiled for one sink key, run on stored events.
///
/// - The input is the event's log line; only the first output counts.
/// - `$sink` (the sink's name) and `$endpoint` (the event's endpoint) are defined;
///   `$ENV` and `env` are empty objects (the daemon's environment holds its secrets).
/// - jq 1.6 keeps a running program's state in its `jq_state`: each concurrent caller
///   borrows a state of its own from a pool (one per delivery thread at most). Compiling
///   touches process-wide state in jq and Oniguruma (its regex library initialises
///   lazily), so compiles are serialised; running is not.
/// - jq has no time limit: a program that never ends holds the thread running it (see
///   the README, "Programs are trusted configuration").
public final class JQProgram: Sendable {
    public let key: String
    public let source: String
    private let args: [String: String]
    private let idle: Mutex<[JQState]>

    /// A program that did not compile: `sinks[2].transform: jq: syntax error, … at line 1`.
    public struct CompileError: Error, CustomStringConvertible, Equatable {
        public var key: String
        public var message: String
        public var description: String { "\(key): \(message)" }
    }

    /// What one run for one event came to.
    public enum Output: Equatable, Sendable {
        /// The program produced nothing (`empty`, `select(false)`, `halt`).
        case none
        /// Its first output, as compact JSON; `text` when that output is a string.
        case value(json: [UInt8], text: String?, isTrue: Bool)
    }

    /// A run-time error for this input: `jq: error: …` (the message `error(...)` raised,
    /// a type error, `halt_error`'s message).
    public struct RunError: Error, CustomStringConvertible, Equatable, Sendable {
        public var description: String
    }

    /// Compiles `source` (once here, to check it; again for each extra concurrent caller).
    public init(key: String, source: String, sink: String) throws(CompileError) {
        self.key = key
        self.source = source
        self.args = ["sink": sink]
        let first: JQState
        switch Self.compile(source, args: args) {
        case .success(let s): first = s
        case .failure(let m): throw CompileError(key: key, message: Self.describe(m, source: source))
        }
        idle = Mutex([first])
    }

    /// Runs the program on `input` (a JSON text) and returns its first output.
    public func first(_ input: [UInt8]) -> Result<Output, RunError> {
        guard let state = borrow() else { return .failure(RunError(description: "jq: cannot compile another copy of the program")) }
        defer { idle.withLock { $0.append(state) } }
        let value = input.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: CChar.self) { jv_parse_sized($0.baseAddress, Int32(clamping: $0.count)) }
        }
        guard jv_is_valid(value) != 0 else {
            return .failure(RunError(description: "jq: cannot read the event: \(Self.invalidMessage(value) ?? "invalid JSON")"))
        }
        jq_start(state.handle, value, 0)
        let result = jq_next(state.handle)
        if jv_is_valid(result) != 0 {
            let isTrue = jv_get_kind(result) == JV_KIND_TRUE
            let text = jv_get_kind(result) == JV_KIND_STRING ? JQValue.text(of: jv_copy(result)) : nil
            return .success(.value(json: JQValue.compactJSON(result), text: text, isTrue: isTrue))
        }
        if let message = Self.invalidMessage(result) { return .failure(RunError(description: "jq: error: \(message)")) }
        if jq_halted(state.handle) != 0 {
            let code = jq_get_exit_code(state.handle)
            let failed = jv_is_valid(code) != 0 && !(jv_get_kind(code) == JV_KIND_NUMBER && jv_number_value(code) == 0)
            jv_free(code)
            let message = jq_get_error_message(state.handle)
            let text = jv_is_valid(message) != 0 ? JQValue.text(of: message) : { jv_free(message); return "" }()
            if failed { return .failure(RunError(description: "jq: halt_error: \(text.trimmingNewlines())")) }
        }
        return .success(.none)
    }

    private func borrow() -> JQState? {
        if let s = idle.withLock({ $0.popLast() }) { return s }
        return try? Self.compile(source, args: args).get()
    }

    /// The message of an invalid value (an error), or nil when it has none; consumes it.
    private static func invalidMessage(_ value: jv) -> String? {
        guard jv_invalid_has_msg(jv_copy(value)) != 0 else {
            jv_free(value)
            return nil
        }
        return JQValue.text(of: jv_invalid_get_msg(value))
    }

    private static let compiling = Mutex(false)

    private static func compile(_ source: String, args: [String: String]) -> Result<JQState, JQMessages> {
        compiling.withLock { warmedUp in
            if !warmedUp {
                // Oniguruma initialises on first use; do it here, under the lock, not in a race.
                if case .success(let s) = JQState.compile(#""a" | test("a")"#, args: [:]) {
                    jq_start(s.handle, jv_null(), 0)
                    jv_free(jq_next(s.handle))
                }
                warmedUp = true
            }
            return JQState.compile(wrap(source), args: args)
        }
    }

    /// The program inside bindings that hide the environment, define `$endpoint` and
    /// replace what reads jq's own input stream (there is none: libjq 1.6 crashes on `input`
    /// without one). It starts on the program's first line, so jq's line numbers are the
    /// program's own.
    static func wrap(_ source: String) -> String {
        "{} as $ENV | def env: $ENV; def input_filename: null; def input: error(\"input: a program sees one event\"); "
            + "def inputs: empty; .endpoint as $endpoint | (" + source + "\n)"
    }

    /// jq's first message, without its CLI decorations and the echoed source line:
    /// `jq: syntax error, unexpected INVALID_CHARACTER at line 1`.
    static func describe(_ messages: JQMessages, source: String) -> String {
        guard var first = messages.list.first?.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) else {
            return "jq: the program does not compile"
        }
        if first.hasPrefix("jq: error: ") { first = "jq: " + first.dropFirst("jq: error: ".count) }
        first = first.replacingAll(" (Unix shell quoting issues?)", with: "")
        if let r = first.firstRange(of: " at <top-level>, line ") {
            let number = first[r.upperBound...].prefix { $0.isNumber }
            let lines = source.split(separator: "\n", omittingEmptySubsequences: false).count
            let at = Int(number).map { $0 > lines ? " at the end of the program" : " at line \($0)" } ?? ""
            first = String(first[..<r.lowerBound]) + at
        }
        return first
    }
}

extension String {
    fileprivate func trimmingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" { s = s.dropLast() }
        return String(s)
    }
}
