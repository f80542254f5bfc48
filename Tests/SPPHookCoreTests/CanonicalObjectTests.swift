// SPDX-License-Identifier: MIT
import FuzzChecks
import SPPHookCore
import Testing

/// The receive path's one-pass canonical writer against parse-then-write.
@Suite("Canonical object (one pass)")
struct CanonicalObjectTests {
    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":"x"}"#,
        " { \"b\" : 2 ,\n \"a\" : 1 } ",
        #"{"n":-0.5e+10,"m":1E3,"z":0,"e":{},"l":[],"ll":[[],[{}]]}"#,
        #"{"s":"line\nbreak \"q\" \\ \/ \u00e9 \ud83d\ude00"}"#,
        "{\"del\":\"a\u{7F}b\",\"ctl\":\"\\u0001\\u007f\\b\\f\"}",
        #"{"é":"ü","日本":"語","emoji":"😀"}"#,
        #"{"token":"t","event":"order.created","created":1558608668,"data":{"id":"B1","token":"inner"}}"#,
        #"{"event":"x","token":"t"}"#,
        "{\"de\u{7F}l\":\"x\",\"abcdefghijk\u{7F}lmnop\":\"abcdefghij\u{7F}\u{7F}klmnopqrstu\"}",  // DEL, in keys and values
        #"{"a long key, past eight bytes":"and a long value with an escape \u0041 at the end"}"#,
        "{\"K\":1,\"k\":2,\"Kelvin \u{212A}\":3}",
        #"{"token":"only"}"#,
        #"{}"#,
    ])
    func agreesWithParseThenWrite(_ input: String) throws {
        let object = try CanonicalObject(parsing: Self.bytes(input)[...])
        guard case .object(let tree) = try JSONParser.parse(input) else { Issue.record("not an object"); return }
        #expect(object.bytes == JSONWriter.bytes(.object(tree)))
        #expect(object == CanonicalObject(tree))
        #expect(object.members.map(\.key) == tree.keys)
        for m in tree.members {
            #expect(object[m.key] == m.value)
            #expect(object.removing(m.key) == JSONWriter.bytes(.object(tree.removing(m.key))), "removing \(m.key)")
        }
        #expect(object.removing("absent") == object.bytes)
        FuzzChecks.canonical(Self.bytes(input))
    }

    /// The same error at the same offset as the parser, including the cases where the
    /// one-pass writer takes its own fast path (strings without escapes).
    @Test(arguments: [
        "{",
        "  {  ",
        #"{"a":1,}"#,
        #"{"a":1}x"#,
        #"{"a":01}"#,
        #"{"a":"\x"}"#,
        #"{"a":"\ud800"}"#,
        "{\"a\":\"tab\there\"}",
        #"{"a":1,"a":2}"#,
        #"{"b":{"a":1,"a":2}}"#,
        #"{"a":{"a":1},"a":2}"#,
        "{\"\u{E9}\":1,\"e\u{301}\":2}",  // canonically equivalent keys are duplicates, as in the parser
        "{\"K\":1,\"\u{212A}\":2}",  // KELVIN SIGN is canonically "K"
        #"{"K":1,"\u212A":2}"#,
        #"{"\u004b":1,"K":2}"#,
        "{\"a\":\"abcdefghij\u{01}\"}",  // a control character after an eight-byte run
        "{\"abcdefghij\u{01}\":1}",
        #"{"a":"unterminated"#,
        #"{"a":"esc\"aped"#,
        #"{"a":[1,2"#,
        #"{"a":tru}"#,
        #"{"a" 1}"#,
        #"{1:2}"#,
    ])
    func rejectsLikeTheParser(_ input: String) {
        let bytes = Self.bytes(input)
        #expect(throws: JSONParseError.self) { try CanonicalObject(parsing: bytes[...]) }
        FuzzChecks.canonical(bytes)
    }

    @Test(arguments: [
        [0xC3, 0x28],  // bad continuation
        [0xC0, 0xAF],  // overlong
        [0xE0, 0x80, 0xAF],  // overlong, three bytes
        [0xED, 0xA0, 0x80],  // a surrogate
        [0xF4, 0x90, 0x80, 0x80],  // above U+10FFFF
        [0xF8, 0x88, 0x80, 0x80, 0x80],
        [0xE2, 0x82],  // truncated
        [0x80],
    ] as [[UInt8]])
    func invalidUTF8(_ sequence: [UInt8]) {
        // In a value, in a key, after an ASCII run longer than eight bytes, and next to an escape.
        for (before, after) in [(#"{"a":""#, #""}"#), (#"{""#, #"":1}"#), (#"{"a":"abcdefghijkl"#, #""}"#), (#"{"a":"\n"#, #""}"#)] {
            let bytes = Self.bytes(before) + sequence + Self.bytes(after)
            #expect(throws: JSONParseError.self) { try CanonicalObject(parsing: bytes[...]) }
            FuzzChecks.canonical(bytes)
        }
    }

    @Test func validMultibyteAtEveryAlignment() throws {
        for pad in 0..<9 {
            let input = "{\"a\":\"" + String(repeating: "x", count: pad) + "é€😀\u{10FFFF}\u{7FF}\u{800}\u{FFFF}\"}"
            let object = try CanonicalObject(parsing: Self.bytes(input)[...])
            #expect(object.bytes == Self.bytes(input))
        }
    }

    /// The eight-byte string scan (shared by both parsers) jumps to the first quote,
    /// backslash, control byte or DEL in a word. Each of them, and non-ASCII bytes that must
    /// still be validated, after every count of plain bytes, in a value and in a key: valid
    /// or not as JSON says, with the text it stands for.
    @Test(arguments: [
        ([], "", true), ([0x5C, 0x22], "\"", true), ([0x5C, UInt8(ascii: "n")], "\n", true), ([0x01], "", false),
        ([0x1F], "", false), ([0x7F], "\u{7F}", true), ([0xFF], "", false), ([0xC3, 0xA9], "é", true), ([0xC3], "", false),
        ([0xE2, 0x82, 0xAC], "€", true), ([0xED, 0xA0, 0x80], "", false),
    ] as [([UInt8], String, Bool)])
    func eachSpecialByteAtEveryOffsetInAWord(_ special: [UInt8], _ text: String, _ valid: Bool) throws {
        for plain in 0..<20 {
            let content = Array(repeating: UInt8(ascii: "x"), count: plain) + special + Self.bytes("yz")
            let expected = String(repeating: "x", count: plain) + text + "yz"
            let inValue = Self.bytes(#"{"a":""#) + content + Self.bytes(#""}"#)
            let inKey = Self.bytes(#"{""#) + content + Self.bytes(#"":1}"#)
            for bytes in [inValue, inKey] {
                FuzzChecks.canonical(bytes)
                #expect(((try? CanonicalObject(parsing: bytes[...])) != nil) == valid, "\(special) after \(plain) bytes")
            }
            if valid {
                #expect(try CanonicalObject(parsing: inValue[...])["a"] == .string(expected))
                #expect(try CanonicalObject(parsing: inKey[...]).members.map(\.key) == [expected])
            }
        }
    }

    @Test func depthIsBoundedAsInTheParser() {
        let deep = "{\"a\":" + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        #expect(throws: JSONParseError.self) { try CanonicalObject(parsing: Self.bytes(deep)[...]) }
        FuzzChecks.canonical(Self.bytes(deep))
        let ok = "{\"a\":" + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        FuzzChecks.canonical(Self.bytes(ok))
    }

    @Test func largeObjectsCheckDuplicatesToo() {
        let members = (0..<40).map { "\"k\($0)\":\($0)" }
        FuzzChecks.canonical(Self.bytes("{" + members.joined(separator: ",") + "}"))
        let duplicate = "{" + (members + ["\"k7\":0"]).joined(separator: ",") + "}"
        #expect(throws: JSONParseError.self) { try CanonicalObject(parsing: Self.bytes(duplicate)[...]) }
        FuzzChecks.canonical(Self.bytes(duplicate))
    }

    @Test func notAnObjectIsLeftToTheParser() {
        #expect(throws: JSONParseError(.unexpectedCharacter, at: 1)) { try CanonicalObject(parsing: Self.bytes(" [1]")[...]) }
    }
}
