// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// The chat and automation recipes in deploy/recipes (and the README), run by the real
/// daemon on every sample event and posted to a receiver that checks each body the way
/// its service documents it (Fixtures/chat_receiver.py): a recipe whose body the service
/// would refuse is dead-lettered, and fails here.
@Suite("Recipes: Slack, Discord, Teams, Google Chat, Mattermost, ntfy, n8n/Zapier")
struct RecipeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    static let names = ["slack", "discord", "teams", "google-chat", "mattermost", "ntfy", "n8n-zapier"]

    static func recipe(_ name: String) throws -> (text: String, json: [String: Any]) {
        let text = try String(contentsOfFile: "\(root)/deploy/recipes/\(name).json", encoding: .utf8)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return (text, json)
    }

    @Test func theReceiverRefusesWhatEachServiceWouldRefuse() throws {
        let script = "\(Self.root)/Tests/SPPHookdTests/Fixtures/chat_receiver.py"
        let r = try runProgram("/usr/bin/env", ["python3", script, "--selftest"])
        #expect(r.status == 0, "\(r.output)")
    }

    @Test func everyRecipeMakesABodyItsServiceAcceptsForEverySample() throws {
        let dir = TemporaryDirectory()
        let receiver = try Receiver(chatServicesIn: dir)
        defer { receiver.stop() }
        let base = "http://127.0.0.1:\(receiver.port)"
        var environment: [String: String] = [:]
        var sinks: [String] = []
        for name in Self.names {
            let (text, json) = try Self.recipe(name)
            #expect(json["name"] as? String == name)
            let url = try #require(json["url"] as? String)
            #expect(url.hasPrefix("env:"), "\(name): the webhook URL is a secret; the recipe reads it from the environment")
            // ntfy takes JSON at the server's root; the others at their webhook's own path.
            environment[String(url.dropFirst(4))] = name == "ntfy" ? "\(base)/ntfy/" : "\(base)/\(name)/hook/T0001/abcdef"
            sinks.append(text)
        }
        // A recipe gone wrong (Discord refuses content over 2,000 characters): it must fail.
        sinks.append(#"{"name": "too-long", "type": "forward", "url": "\#(base)/discord/x", "transform": "{content: (.event * 300)}"}"#)
        let daemon = try DaemonProcess(dir: dir, extra: "\"sinks\": [\(sinks.joined(separator: ",\n"))]", environment: environment)
        let client = try RawHTTPClient(port: daemon.port)
        for sample in SampleEvents.all {
            client.send(RawHTTPClient.post("/spp/main", String(decoding: SampleEvents.envelope(sample, created: 1_764_000_000, token: DaemonProcess.token), as: UTF8.self)))
            #expect(client.readResponse()?.status == 200, "\(sample.event)")
        }
        // And one a client could have written: markup, mentions and a form answer far longer than any chat message.
        let long = String(repeating: "ünïcode & <b>more</b> ", count: 400)
        let hostile = #"{"event":"order.created","created":1764000000,"token":"\#(DaemonProcess.token)","data":{"id":"A&B<1>","#
            + #""service":"Logo & <b>brand</b> design <!channel> @everyone \#(long)","client":{"name_f":"<@U123>","email":"x@y.example"},"price":"1,000 & more"}}"#
        client.send(RawHTTPClient.post("/spp/main", hostile))
        #expect(client.readResponse()?.status == 200)
        let samples = SampleEvents.all.count + 1
        try waitFor(60) { receiver.requests.count == samples * (Self.names.count + 1) }
        let categories = Set(dir.events().compactMap { $0["category"] as? String })
        #expect(categories == ["orders", "forms", "accounts", "invoices", "messages", "subscriptions", "tickets"])
        let requests = receiver.requests
        for name in Self.names {
            let mine = requests.filter { $0["service"] as? String == name && !($0["path"] as? String ?? "").hasPrefix("/discord/x") }
            #expect(mine.count == samples, "\(name): \(mine.count) posts")
            let refused = mine.filter { $0["ok"] as? Bool != true }
            #expect(refused.isEmpty, "\(name) refused: \(refused.prefix(2).map { "\($0["reason"] ?? "") ← \($0["body"] ?? "")" })")
        }
        let bad = requests.filter { ($0["path"] as? String ?? "").hasPrefix("/discord/x") }
        #expect(bad.count == samples && bad.allSatisfy { $0["reason"] as? String == "content: at most 2000 characters" })
        // status.json is rewritten about once a second: wait for it to show every delivery.
        try waitFor { (JQSinkTests.sinkStatus(dir, "too-long")?["deadLettered"] as? Int) == samples }
        try waitFor { Self.names.allSatisfy { (JQSinkTests.sinkStatus(dir, $0)?["delivered"] as? Int) == samples } }
        for name in Self.names {
            let s = try #require(JQSinkTests.sinkStatus(dir, name))
            #expect(s["delivered"] as? Int == samples && s["deadLettered"] as? Int == 0, "\(name): \(s)")
        }
    }

    /// docs/recipes.md shows each recipe as it is in deploy/recipes.
    @Test(arguments: names)
    func theDocsShowTheRecipe(_ name: String) throws {
        let readme = try String(contentsOfFile: "\(Self.root)/docs/recipes.md", encoding: .utf8)
        let marker = try #require(readme.range(of: "<!-- recipe: \(name) -->"), "docs/recipes.md has no block for \(name)")
        let rest = readme[marker.upperBound...]
        let open = try #require(rest.range(of: "```json\n"))
        let close = try #require(rest[open.upperBound...].range(of: "\n```"))
        let shown = try JSONSerialization.jsonObject(with: Data(rest[open.upperBound..<close.lowerBound].utf8)) as? NSDictionary
        #expect(shown == (try Self.recipe(name).json as NSDictionary), "docs/recipes.md's \(name) recipe differs from deploy/recipes/\(name).json")
    }
}
