// SPDX-License-Identifier: MIT
import Foundation

/// The llhttp request cases in `Fixtures/llhttp-requests.json` (a copy of
/// ../shared/conformance, MIT, see Fixtures/LICENSE.llhttp), for the parser and live tests.
public struct ConformanceCase: Sendable, CustomStringConvertible {
    public enum Expectation: String, Sendable { case complete, error, upgrade }
    public var id: String
    public var name: String
    public var raw: [UInt8]
    public var expect: Expectation
    public var complete: Int
    public var description: String { "\(id) \(name)" }

    public static func load() throws -> [ConformanceCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/llhttp-requests.json")
        let array = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [[String: Any]]
        return array.map { c in
            ConformanceCase(
                id: c["id"] as! String, name: c["name"] as! String,
                raw: withHost(Array(Data(base64Encoded: c["raw_b64"] as! String)!)),
                expect: Expectation(rawValue: c["expect"] as! String)!, complete: c["complete"] as! Int)
        }
    }

    /// Adds `Host:` to every request in the case that has none (the corpus README asks for
    /// it: llhttp does not require Host, RFC 9112 §3.2 does). A request line is a line
    /// ending in " HTTP/1.1" at the start of the input or after an empty line or a body.
    public static func withHost(_ raw: [UInt8]) -> [UInt8] {
        let marker = Array(" HTTP/1.1\r\n".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < raw.count {
            if raw[i...].starts(with: marker) {
                let lineStart = (raw[..<i].lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
                let isRequestLine = raw[lineStart..<i].first.map { $0 >= 0x41 && $0 <= 0x5A } ?? false
                out.append(contentsOf: marker)
                i += marker.count
                if isRequestLine {
                    let rest = raw[i...]
                    let headEnd = rest.firstRange(of: Array("\r\n\r\n".utf8)).map { $0.lowerBound } ?? raw.count
                    let head = String(decoding: raw[i..<headEnd], as: UTF8.self).lowercased()
                    if !head.hasPrefix("host:") && !head.contains("\nhost:") {
                        out.append(contentsOf: Array("Host: example.com\r\n".utf8))
                    }
                }
                continue
            }
            out.append(raw[i])
            i += 1
        }
        return out
    }
}
