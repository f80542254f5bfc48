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
        guard let value = try? JSONParser.parse(bytes) else { return }
        let written = JSONWriter.bytes(value)
        guard let again = try? JSONParser.parse(written) else { preconditionFailure("writer output does not parse: \(written)") }
        precondition(again == value, "round trip changed the value")
        precondition(JSONWriter.bytes(again) == written, "writer is not stable")
        if case .object(let o) = value {
            _ = try? WebhookEnvelope(validating: o)
            _ = WebhookEnvelope.presentedToken(in: o)
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
