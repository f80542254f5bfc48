// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import SPPHookServer
import Testing

/// Event ids are SHA-256 prefixes kept in the log: they must never change between builds.
@Suite("SHA-256 and event ids")
struct SHA256Tests {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func knownAnswers(_ input: String, _ digest: String) {
        #expect(SHA256.hex(SHA256.hash(Array(input.utf8))) == digest)
        // In parts, split anywhere.
        let bytes = Array(input.utf8)
        for cut in [0, bytes.count / 3, bytes.count] {
            #expect(SHA256.hex(SHA256.hash(parts: Array(bytes[..<cut]), Array(bytes[cut...]))) == digest)
        }
    }

    /// The id of an event as earlier builds wrote it (`printf 'main\n{}' | sha256sum`, first 32 digits).
    @Test func theEventIdOfAnEmptyPayloadIsStable() {
        #expect(WebhookHandler.eventID(endpoint: "main", payloadJSON: Array("{}".utf8)) == "05a8a2c61f1f9f87625ad22c411c9c65")
    }
}
