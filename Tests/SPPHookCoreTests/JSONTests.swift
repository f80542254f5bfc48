// SPDX-License-Identifier: MIT
import SPPHookCore
import Testing

@Suite("JSON parser and writer")
struct JSONTests {
    @Test(arguments: [
        (#"{"a":1,"b":[true,false,null],"c":"x"}"#, #"{"a":1,"b":[true,false,null],"c":"x"}"#),
        (" { \"b\" : 2 ,\n \"a\" : 1 } ", #"{"b":2,"a":1}"#),  // order kept, whitespace dropped
        (#"{"n":-0.5e+10,"m":1E3,"z":0}"#, #"{"n":-0.5e+10,"m":1E3,"z":0}"#),  // numbers as sent
        (#"{"s":"line\nbreak \"q\" \\ \/ \u00e9 \ud83d\ude00"}"#, #"{"s":"line\nbreak \"q\" \\ / é 😀"}"#),
        (#"{"ctl":"\u0001\u007f"}"#, #"{"ctl":"\u0001\u007f"}"#),
        (#"[]"#, #"[]"#),
        (#""just a string""#, #""just a string""#),
    ])
    func roundTrip(_ input: String, _ expected: String) throws {
        let value = try JSONParser.parse(input)
        #expect(JSONWriter.string(value) == expected)
        // The writer's output parses back to the same value.
        #expect(try JSONParser.parse(JSONWriter.string(value)) == value)
    }

    @Test(arguments: [
        ("", JSONParseError.Reason.unexpectedEnd),
        ("{", .unexpectedEnd),
        (#"{"a":1,}"#, .unexpectedCharacter),
        (#"{"a":1}x"#, .trailingData),
        (#"{"a":01}"#, .unexpectedCharacter),
        (#"{"a":1.}"#, .invalidNumber),
        (#"{"a":-}"#, .invalidNumber),
        (#"{"a":"\x"}"#, .invalidEscape),
        (#"{"a":"\ud800"}"#, .invalidEscape),
        ("{\"a\":\"tab\there\"}", .controlCharacterInString),
        (#"{"a":1,"a":2}"#, .duplicateKey),
        ("{'a':1}", .unexpectedCharacter),
        (#"{"a":tru}"#, .unexpectedCharacter),
        ("NaN", .unexpectedCharacter),
    ])
    func rejects(_ input: String, _ reason: JSONParseError.Reason) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect(error.reason == reason, "\(input): \(error)")
        }
    }

    @Test func rejectsInvalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError(.invalidUTF8, at: 6)) { try JSONParser.parse(bytes) }
    }

    @Test func depthIsBounded() {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: Never.self) { try JSONParser.parse(ok) }
    }

    @Test func writerNeverEmitsRawNewlines() throws {
        let value = JSONValue.object(JSONObject([.init(key: "k\n", value: .string("a\r\nb\u{2028}"))]))
        #expect(!JSONWriter.bytes(value).contains(0x0A))
        #expect(!JSONWriter.bytes(value).contains(0x0D))
    }
}
