// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// What the audit found in the pure core: form bodies (before authentication), text shown to
/// a person, secrets that hooks must not inherit, descriptors kept for the daemon.
@Suite("Hostile input and what is shown to people")
struct HostileInputTests {
    static func form(fields: Int) -> [UInt8] {
        Array((0..<fields).map { "data[k\($0)]=v" }.joined(separator: "&").utf8)
    }

    @Test func formFieldsAreCountedBeforeAnyIsDecoded() throws {
        let object = try FormDecoder.decode(Self.form(fields: FormDecoder.maxFields))
        guard case .object(let data)? = object["data"] else { Issue.record("no data"); return }
        #expect(data.members.count == FormDecoder.maxFields)
        #expect(data["k9999"] == .string("v"))
        #expect(throws: EnvelopeError.invalidForm("more than \(FormDecoder.maxFields) fields")) {
            try FormDecoder.decode(Self.form(fields: FormDecoder.maxFields + 1))
        }
    }

    @Test(arguments: [
        ("a[b]=1&a=2", #"{"a":"2"}"#),
        ("a=1&a=2", #"{"a":"2"}"#),
        ("a[]=1&a[]=2&a[][x]=3", #"{"a":["1","2",{"x":"3"}]}"#),
        ("a[b][c]=1&a[b][d]=2&a[e]=3", #"{"a":{"b":{"c":"1","d":"2"},"e":"3"}}"#),
        ("z=1&y=2&x=3", #"{"z":"1","y":"2","x":"3"}"#),
    ])
    func formKeysKeepTheirOrderAndPHPsRules(_ body: String, _ json: String) throws {
        #expect(JSONWriter.string(.object(try FormDecoder.decode(Array(body.utf8)))) == json)
    }

    @Test(arguments: [
        ("plain text, ünïcödé", "plain text, ünïcödé"),
        ("title\u{1B}]0;owned\u{07}", #"title\x1B]0;owned\x07"#),
        ("clear\u{1B}[2J", #"clear\x1B[2J"#),
        ("line\nforged 2026-01-01 00:00:00", #"line\nforged 2026-01-01 00:00:00"#),
        ("cr\rover", #"cr\rover"#),
        ("c1 \u{9B}31m", #"c1 \x9B31m"#),
        ("bidi \u{202E}txt.exe", #"bidi \u{202E}txt.exe"#),
        ("del\u{7F}", #"del\x7F"#),
    ])
    func displayTextDefusesControlCharacters(_ raw: String, _ shown: String) {
        #expect(DisplayText.sanitized(raw) == shown)
    }

    @Test func tailsSummaryLineShowsNoRawControlCharacters() throws {
        let line = EventRecord.tail(id: String(repeating: "a", count: 32), receivedAt: Timestamp(millisecondsSinceEpoch: 0),
            endpoint: "main", category: .orders, event: "order.created", created: 1,
            payload: JSONObject([.init(key: "data", value: .object(JSONObject([
                .init(key: "id", value: .string("X\u{1B}]0;pwned\u{07}")), .init(key: "status", value: .string("Paid\r\nFAKE")),
            ])))]))
        let shown = EventSummary.line(EventRecord.head(seq: 1) + line, color: true)
        let controls = shown.unicodeScalars.filter { $0.value < 0x20 && $0 != "\u{1B}" }
        #expect(controls.isEmpty, "\(shown.debugDescription)")
        // The only escapes are the summary's own colour codes.
        #expect(!shown.contains("\u{1B}]") && shown.contains(#"\x1B]0;pwned\x07"#), "\(shown.debugDescription)")
    }

    @Test func hooksDoNotInheritTheVariablesSecretsComeFrom() throws {
        let config = try ConfigDecoder.decode(Array(#"""
            {"endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:SPP_WEBHOOK_TOKEN", "file:/etc/t", "literal-x"]}],
             "api": {"subdomain": "acme", "key": "env:SPP_API_KEY"},
             "sinks": [{"name": "crm", "type": "forward", "url": "https://crm.example.com/h", "signingSecret": "env:CRM_SECRET"}]}
            """#.utf8))
        #expect(config.secretVariableNames == ["SPP_WEBHOOK_TOKEN", "SPP_API_KEY", "CRM_SECRET"])
        #expect(config.inlineSecretKeys == ["endpoints[0].tokens[2]"])
    }

    @Test(arguments: [(1024, 1024 - 160), (65536, 1024), (100, 1), (1200, 1024)])
    func connectionsNeverTakeTheDaemonsOwnDescriptors(_ descriptors: Int, _ expected: Int) throws {
        let config = try ConfigDecoder.decode(Array(ConfigTests.minimal.utf8))
        #expect(config.connectionLimit(descriptors: descriptors) == expected)
    }
}
