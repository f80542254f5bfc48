// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

/// What SIGHUP may change: each row edits the running configuration's JSON and names the
/// key that refuses it (nil: it reloads).
@Suite("Reload plan")
struct ReloadPlanTests {
    static let running = #"""
        {"listen": "127.0.0.1:8080", "dataDir": "/var/lib/spp-hookd",
         "endpoints": [{"name": "main", "path": "/spp/main", "tokens": ["env:T"]}],
         "sinks": [{"name": "files", "type": "file", "path": "/tmp/out.jsonl", "where": ".category == \"orders\""}]}
        """#

    static func config(_ edit: (String) -> String) throws -> DaemonConfig {
        try ConfigDecoder.decode(Array(edit(running).utf8))
    }

    @Test(arguments: [
        ("the same file", "", "", nil, false),
        ("a new endpoint and token", #""tokens": ["env:T"]}]"#,
            #""tokens": ["env:T"]}, {"name": "b", "path": "/b", "tokens": ["env:U"]}]"#, nil, false),
        ("new limits", #""dataDir""#, #""limits": {"maxConnections": 10}, "dataDir""#, nil, false),
        ("a changed where", #""orders\""#, #""forms\""#, nil, true),
        ("another port", "8080", "8081", "listen", false),
        ("another data directory", "/var/lib/spp-hookd", "/srv/spp", "dataDir", false),
        ("another sink path", "/tmp/out.jsonl", "/tmp/other.jsonl", "sinks", false),
        ("more event loops", #""dataDir""#, #""limits": {"eventLoops": 3}, "dataDir""#, "limits.eventLoops", false),
        ("rotation", #""dataDir""#, #""log": {"maxBytes": 1048576}, "dataDir""#, "log, admin", false),
        ("an admin listener", #""dataDir""#, #""admin": {}, "dataDir""#, "log, admin", false),
        ("another dedup window", #""dataDir""#, #""dedupWindowSeconds": 60, "dataDir""#, "dedupWindowSeconds", false),
    ] as [(String, String, String, String?, Bool)])
    func whatAReloadMayChange(_ name: String, find: String, replace: String, refusedBy key: String?, programs: Bool) throws {
        let old = try Self.config { $0 }
        let new = try Self.config { find.isEmpty ? $0 : $0.replacingOccurrences(of: find, with: replace) }
        #expect(find.isEmpty || Self.running.contains(find), "\(name): the edit must apply")
        switch ReloadPlan.check(running: old, new: new, socketActivated: false) {
        case .success(let plan):
            #expect(key == nil, "\(name): reloaded, but \(key ?? "") should refuse it")
            #expect(plan.programsChanged == programs, "\(name)")
        case .failure(let refusal):
            #expect(refusal.key == key, "\(name): \(refusal)")
        }
    }

    /// Under socket activation systemd owns the listeners: `listen` is not used, so it may change.
    @Test func aSocketActivatedDaemonIgnoresListen() throws {
        let (old, new) = (try Self.config { $0 }, try Self.config { $0.replacingOccurrences(of: "8080", with: "9") })
        #expect((try? ReloadPlan.check(running: old, new: new, socketActivated: true).get())?.programsChanged == false)
    }
}
