// SPDX-License-Identifier: MIT
public import SPPHookCore

/// The properties the fuzzer checks on arbitrary input, shared by the libFuzzer target
/// (`Tests/Fuzz`) and the unit test that replays its corpus, so every input that ever
/// crashed stays a test case. A violated property traps (`precondition`).
public enum FuzzChecks {
    /// Limits small enough that random input reaches every limit's error path.
    public static let limits = HTTPParserLimits(maxRequestLineBytes: 256, maxHeaderBytes: 1024, maxHeaderCount: 16, maxBodyBytes: 4096)

    /// The request parser: never crashes, and gives the same outcome whole, split at a
    /// point chosen by the input, and (for short inputs) byte by byte. Every body it
    /// delivers then goes through the webhook body parsers.
    public static func httpParser(_ bytes: [UInt8]) {
        let whole = ParserHarness.whole(bytes, limits: limits)
        if !bytes.isEmpty {
            let at = Int(bytes[0]) % (bytes.count + 1)
            let split = ParserHarness.run([Array(bytes[..<at]), Array(bytes[at...])], limits: limits)
            precondition(split == whole, "split at \(at): \(split) != whole: \(whole)")
        }
        if bytes.count <= 2048 {
            let single = ParserHarness.byteAtATime(bytes, limits: limits)
            precondition(single == whole, "byte at a time: \(single) != whole: \(whole)")
        }
        for request in whole.requests {
            _ = try? WebhookEnvelope.parseBody(request.body, contentType: request.head.headers["content-type"])
        }
    }

    /// The JSON parser: never crashes; what it accepts, the writer writes back in a form
    /// that parses to the same value, and writing that again gives the same bytes.
    public static func json(_ bytes: [UInt8]) {
        precondition(UTF8Validation.isValid(bytes) == (String(validating: bytes, as: UTF8.self) != nil), "UTF-8 validation differs from the standard library's")
        canonical(bytes)
        guard let value = try? JSONParser.parse(bytes) else { return }
        let written = JSONWriter.bytes(value)
        guard let again = try? JSONParser.parse(written) else { preconditionFailure("writer output does not parse: \(written)") }
        precondition(again == value, "round trip changed the value")
        precondition(JSONWriter.bytes(again) == written, "writer is not stable")
        if case .object(let o) = value {
            let object = CanonicalObject(o)
            _ = try? WebhookEnvelope(validating: object)
            _ = WebhookEnvelope.presentedToken(in: object)
        }
    }

    /// The one-pass canonical writer (the receive path) agrees with parse-then-write on
    /// every object: the same error at the same offset, or the same bytes and members,
    /// and the same bytes once `token` is taken out.
    public static func canonical(_ bytes: [UInt8]) {
        guard bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") else { return }
        let fast = Result { () throws(JSONParseError) in try CanonicalObject(parsing: bytes[...]) }
        let tree = Result { () throws(JSONParseError) in try JSONParser.parse(bytes) }
        switch (fast, tree) {
        case (.failure(let a), .failure(let b)):
            precondition(a == b, "canonical writer: \(a), parser: \(b)")
        case (.success(let object), .success(.object(let o))):
            precondition(object == CanonicalObject(o), "canonical writer and parse-then-write differ")
            precondition(object.bytes == JSONWriter.bytes(.object(o)), "canonical bytes differ from the writer's")
            for key in ["token", o.members.first?.key, o.members.last?.key].compactMap({ $0 }) {
                precondition(object.removing(key) == JSONWriter.bytes(.object(o.removing(key))), "removing \(key) differs")
            }
        default:
            preconditionFailure("canonical writer: \(fast), parser: \(tree)")
        }
    }

    /// Every check; the first byte's low bit picks where the input goes first, so one
    /// corpus serves both parsers.
    public static func all(_ bytes: [UInt8]) {
        if bytes.first.map({ $0 & 1 == 0 }) ?? true {
            httpParser(bytes)
            json(Array(bytes.dropFirst()))
        } else {
            json(Array(bytes.dropFirst()))
            httpParser(bytes)
        }
    }
}
