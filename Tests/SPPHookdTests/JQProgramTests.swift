// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import Synchronization
import Testing

/// The embedded jq (Debian's libjq 1.6): what a program gives for an event, the messages
/// for programs that do not compile or fail, and running one program on many threads.
@Suite("jq programs (libjq)")
struct JQProgramTests {
    static let line = Array(#"""
        {"seq":7,"id":"abc","receivedAt":"2026-11-20T15:00:00.000Z","endpoint":"main","category":"invoices","event":"invoice.paid","created":1,"payload":{"event":"invoice.paid","data":{"id":"INV-1","total":"1200.50","client":{"email":"jane@acme.example"},"note":"n/a"}}}
        """#.utf8)

    static func run(_ source: String, _ input: [UInt8] = line, sink: String = "chat") throws -> Result<JQProgram.Output, JQProgram.RunError> {
        try JQProgram(key: "sinks[0].transform", source: source, sink: sink).first(input)
    }

    static func json(_ text: String) -> JQProgram.Output {
        .value(json: Array(text.utf8), text: nil, isTrue: text == "true")
    }

    @Test(arguments: [
        (".payload.data.total | tonumber > 1000", "true"),
        (".payload.data.total | tonumber > 5000", "false"),
        ("{text: \"Paid: \\(.payload.data.id) by \\(.payload.data.client.email)\"}", #"{"text":"Paid: INV-1 by jane@acme.example"}"#),
        ("[$sink, $endpoint, .seq]", #"["chat","main",7]"#),
        ("$ENV | length", "0"),
        ("env | length", "0"),
        ("input_filename", "null"),
        ("1, 2, error(\"never reached\")", "1"),
        ("def f: .event; [f]", #"["invoice.paid"]"#),
        ("# a comment on the last line\n.seq", "7"),
        (".payload.data | {id, total: (.total | tonumber)}", #"{"id":"INV-1","total":1200.5}"#),
        ("repeat(1)", "1"),  // the first output; the rest are never computed
    ])
    func firstOutput(_ source: String, _ expected: String) throws {
        let result = try Self.run(source)
        guard case .success(.value(let json, _, let isTrue)) = result else { Issue.record("\(source): \(result)"); return }
        #expect(String(decoding: json, as: UTF8.self) == expected, "\(source)")
        #expect(isTrue == (expected == "true"))
    }

    @Test func aStringOutputKeepsItsText() throws {
        let result = try Self.run(#""Thanks, \(.payload.data.client.email) — ünïcode""#)
        #expect(result == .success(.value(json: Array(#""Thanks, jane@acme.example — ünïcode""#.utf8),
            text: "Thanks, jane@acme.example — ünïcode", isTrue: false)))
    }

    @Test(arguments: ["empty", "select(.seq > 100)", "halt", ".[] | select(false)"])
    func noOutput(_ source: String) throws {
        #expect(try Self.run(source) == .success(.none), "\(source)")
    }

    @Test(arguments: [
        ("error(\"boom\")", "jq: error: boom"),
        ("error({code: 7})", #"jq: error: {"code":7}"#),
        (".payload.data.note | tonumber", "jq: error: Invalid numeric literal"),
        (".payload.data.total + 1", "jq: error: string (\"1200.50\") and number (1) cannot be added"),
        (".seq | keys", "jq: error: number (7) has no keys"),
        ("\"stop\" | halt_error", "jq: halt_error: stop"),
        ("input", "jq: error: input: a program sees one event"),
        ("[inputs] | error(\"inputs: \\(length)\")", "jq: error: inputs: 0"),
    ])
    func runTimeErrors(_ source: String, _ fragment: String) throws {
        let result = try Self.run(source)
        guard case .failure(let e) = result else { Issue.record("\(source) gave \(result)"); return }
        #expect(e.description.hasPrefix(fragment), "\(source): \(e)")
    }

    @Test(arguments: [
        (". ^ 1", "jq: syntax error, unexpected INVALID_CHARACTER at line 1"),
        (".a |", "jq: syntax error, unexpected ')' at the end of the program"),
        ("{a: 1,\n b: }", "jq: syntax error, unexpected '}' at line 2"),
        ("$secret", "jq: $secret is not defined at line 1"),
        ("nosuchfunction(1)", "jq: nosuchfunction/1 is not defined at line 1"),
        ("import \"x\" as x; .", "jq: syntax error, unexpected import at line 1"),
    ])
    func compileErrorsNameTheKeyAndJqsMessage(_ source: String, _ message: String) {
        do {
            _ = try JQProgram(key: "sinks[2].transform", source: source, sink: "x")
            Issue.record("compiled: \(source)")
        } catch {
            #expect(error.description == "sinks[2].transform: \(message)", "\(source)")
        }
    }

    @Test func anInvalidInputIsAnErrorNotACrash() throws {
        let result = try Self.run(".", Array("{not json".utf8))
        guard case .failure(let e) = result else { Issue.record("\(result)"); return }
        #expect(e.description.hasPrefix("jq: cannot read the event"))
    }

    /// jq 1.6 keeps a running program's state in its jq_state; each thread borrows its own.
    /// 16 threads × 400 runs of programs that format numbers, match regular expressions and
    /// build strings, every output checked against what it must be for that input.
    @Test func thousandsOfConcurrentRunsEachGetTheirOwnAnswer() throws {
        let programs = [
            try JQProgram(key: "a", source: #"{n: (.payload.data.total | tonumber * 2), s: "\(.seq)-\(.payload.data.id)"}"#, sink: "a"),
            try JQProgram(key: "b", source: #".payload.data.id | test("^INV-[0-9]*7$") "#, sink: "b"),
            try JQProgram(key: "c", source: #".payload.data.id | sub("INV-(?<n>[0-9]+)"; "N\(.n)") | ascii_downcase"#, sink: "c"),
        ]
        let failures = Mutex<[String]>([])
        let runs = Mutex(0)
        let threads = 16, perThread = 400
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            for k in 0..<perThread {
                let n = t * perThread + k
                let input = Array(#"{"seq":\#(n),"endpoint":"main","payload":{"data":{"id":"INV-\#(n)","total":"\#(n).25"}}}"#.utf8)
                let expected = [
                    #"{"n":\#(Self.jqNumber(Double(n) * 2 + 0.5)),"s":"\#(n)-INV-\#(n)"}"#,
                    String(n).hasSuffix("7") ? "true" : "false",
                    "\"n\(n)\"",
                ]
                for (program, want) in zip(programs, expected) {
                    let got: String
                    switch program.first(input) {
                    case .success(.value(let json, _, _)): got = String(decoding: json, as: UTF8.self)
                    case let other: got = "\(other)"
                    }
                    if got != want { failures.withLock { $0.append("\(program.key) #\(n): \(got) != \(want)") } }
                    runs.withLock { $0 += 1 }
                }
            }
        }
        #expect(runs.withLock { $0 } == threads * perThread * programs.count)
        let found = failures.withLock { $0 }
        #expect(found.isEmpty, "\(found.count) wrong: \(found.prefix(5))")
    }

    /// jq 1.6 prints integers without a fraction and other numbers with up to 17 digits.
    static func jqNumber(_ x: Double) -> String {
        x == x.rounded() ? String(Int(x)) : "\(x)"
    }
}
