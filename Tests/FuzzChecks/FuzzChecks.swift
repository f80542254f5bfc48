// SPDX-License-Identifier: MIT
public import SPPHookCore

/// The properties the fuzzer checks on arbitrary input, shared by the libFuzzer target
/// (`Tests/Fuzz`) and the unit test that replays its corpus, so every input that ever
/// crashed stays a test case. A violated property is reported to `violated`: the fuzzer
/// traps there (libFuzzer needs a crash), the unit test records an issue and goes on.
public enum FuzzChecks {
    public typealias Violation = (String) -> Void

    /// The fuzzer's reaction: a crash libFuzzer saves as `crash-*`.
    public static func trap(_ why: String) { preconditionFailure(why) }

    /// Limits small enough that random input reaches every limit's error path.
    public static let limits = HTTPParserLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 4096)

    /// The request parser: never crashes, and gives the same outcome whole, split at a
    /// point chosen by the input, and (for short inputs) byte by byte. Every body it
    /// delivers then goes through the webhook body parsers.
    public static func httpParser(_ bytes: [UInt8], violated: Violation = trap) {
        let whole = ParserHarness.whole(bytes, limits: limits)
        if !bytes.isEmpty {
            let at = Int(bytes[0]) % (bytes.count + 1)
            let split = ParserHarness.run([Array(bytes[..<at]), Array(bytes[at...])], limits: limits)
            if split != whole { violated("split at \(at): \(split) != whole: \(whole)") }
        }
        if bytes.count <= 2048 {
            let single = ParserHarness.byteAtATime(bytes, limits: limits)
            if single != whole { violated("byte at a time: \(single) != whole: \(whole)") }
        }
        for request in whole.requests {
            _ = try? WebhookEnvelope.parseBody(request.body, contentType: request.head.headers["content-type"])
        }
    }

    /// The JSON parser: never crashes; what it accepts, the writer writes back in a form
    /// that parses to the same value, and writing that again gives the same bytes.
    public static func json(_ bytes: [UInt8], violated: Violation = trap) {
        if UTF8Validation.isValid(bytes) != (String(validating: bytes, as: UTF8.self) != nil) {
            violated("UTF-8 validation differs from the standard library's")
        }
        canonical(bytes, violated: violated)
        guard let value = try? JSONParser.parse(bytes) else { return }
        let written = JSONWriter.bytes(value)
        guard let again = try? JSONParser.parse(written) else { return violated("writer output does not parse: \(written)") }
        if again != value { violated("round trip changed the value") }
        if JSONWriter.bytes(again) != written { violated("writer is not stable") }
        if case .object(let o) = value {
            let object = CanonicalObject(o)
            _ = try? WebhookEnvelope(validating: object)
            _ = WebhookEnvelope.presentedToken(in: object)
        }
    }

    /// The one-pass canonical writer (the receive path) agrees with parse-then-write on
    /// every object: the same error at the same offset, or the same bytes and members,
    /// and the same bytes once `token` is taken out.
    public static func canonical(_ bytes: [UInt8], violated: Violation = trap) {
        guard bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") else { return }
        let fast = Result { () throws(JSONParseError) in try CanonicalObject(parsing: bytes[...]) }
        let tree = Result { () throws(JSONParseError) in try JSONParser.parse(bytes) }
        switch (fast, tree) {
        case (.failure(let a), .failure(let b)):
            if a != b { violated("canonical writer: \(a), parser: \(b)") }
        case (.success(let object), .success(.object(let o))):
            if object != CanonicalObject(o) { violated("canonical writer and parse-then-write differ") }
            if object.bytes != JSONWriter.bytes(.object(o)) { violated("canonical bytes differ from the writer's") }
            for key in ["token", o.members.first?.key, o.members.last?.key].compactMap({ $0 }) {
                if object.removing(key) != JSONWriter.bytes(.object(o.removing(key))) { violated("removing \(key) differs") }
            }
        default:
            violated("canonical writer: \(fast), parser: \(tree)")
        }
    }

    /// Every check; the first byte's low bit picks where the input goes first, so one
    /// corpus serves both parsers.
    public static func all(_ bytes: [UInt8], violated: Violation = trap) {
        if bytes.first.map({ $0 & 1 == 0 }) ?? true {
            httpParser(bytes, violated: violated)
            json(Array(bytes.dropFirst()), violated: violated)
        } else {
            json(Array(bytes.dropFirst()), violated: violated)
            httpParser(bytes, violated: violated)
        }
    }
}
