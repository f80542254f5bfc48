// SPDX-License-Identifier: MIT
public import SPPHookCore

/// Drives a parser over input split into chunks, the way a socket hands it over, and
/// records what came out. Modeled on NIO's ByteToMessageDecoderVerifier: the same input
/// must give the same result whole, byte by byte, and split at every index.
public struct ParseOutcome: Equatable, CustomStringConvertible {
    public var requests: [HTTPRequest] = []
    public var heads = 0
    public var error: HTTPParseError?

    public var description: String {
        "\(requests.count) request(s) \(requests.map { "\($0.head.method) \($0.head.target) [\($0.body.count)B]" }), error: \(error.map { "\($0)" } ?? "none")"
    }
}

public enum ParserHarness {
    public static func run(_ chunks: [[UInt8]], limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
        var parser = HTTPRequestParser(limits: limits)
        var outcome = ParseOutcome()
        for chunk in chunks {
            parser.feed(chunk)
            do {
                while let event = try parser.next() {
                    switch event {
                    case .head: outcome.heads += 1
                    case .request(let r):
                        outcome.requests.append(r)
                        // The server closes after a request that does not keep the connection.
                        if !r.head.keepAlive || r.head.upgradeRequested { return outcome }
                    }
                }
            } catch {
                outcome.error = error
                return outcome
            }
        }
        return outcome
    }

    public static func whole(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
        run([bytes], limits: limits)
    }

    public static func byteAtATime(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> ParseOutcome {
        run(bytes.map { [$0] }, limits: limits)
    }

    /// Every two-way split of the input.
    public static func everySplit(_ bytes: [UInt8], limits: HTTPParserLimits = HTTPParserLimits()) -> [(Int, ParseOutcome)] {
        (0...bytes.count).map { i in (i, run([Array(bytes[..<i]), Array(bytes[i...])], limits: limits)) }
    }
}

extension String {
    public var bytes: [UInt8] { Array(utf8) }
}
