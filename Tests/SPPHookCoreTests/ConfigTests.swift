// SPDX-License-Identifier: MIT
import Foundation
import SPPHookCore
import Testing

@Suite("Configuration")
struct ConfigTests {
    static let minimal = #"{"endpoints":[{"name":"main","path":"/spp/main","tokens":["env:T"]}]}"#

    @Test func theExampleConfigDecodes() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../config.example.json")
        let config = try ConfigDecoder.decode(Array(try Data(contentsOf: url)))
        #expect(config.listen == DaemonConfig.ListenAddress(host: "127.0.0.1", port: 8080))
        #expect(config.endpoints.map(\.path) == ["/spp/main"])
        #expect(config.endpoints[0].tokens == [.environment("SPP_WEBHOOK_TOKEN"), .literal("change-me-to-the-spp-webhook-token")])
        #expect(config.limits == DaemonConfig.Limits())
        #expect(config.dedupWindowSeconds == 86400)
    }

    @Test func logRotationAndAdminListener() throws {
        let none = try ConfigDecoder.decode(Array(Self.minimal.utf8))
        #expect(none.log == DaemonConfig.LogSettings() && none.admin == nil, "no rotation, no admin listener unless asked")
        let set = try ConfigDecoder.decode(Array(#"""
            {"endpoints":[{"name":"main","path":"/spp/main","tokens":["env:T"]}],
             "log":{"maxBytes":67108864,"keepFiles":10,"keepDays":30,"checkpointSeconds":5},"admin":{}}
            """#.utf8))
        #expect(set.log == DaemonConfig.LogSettings(maxBytes: 67_108_864, keepFiles: 10, keepDays: 30, checkpointSeconds: 5))
        #expect(set.admin?.listen.description == "127.0.0.1:9101", "loopback by default")
    }

    @Test func defaults() throws {
        let config = try ConfigDecoder.decode(Array(Self.minimal.utf8))
        #expect(config.listen.description == "127.0.0.1:8080")
        #expect(config.dataDir == "./spp-data")
        #expect(config.limits.maxBodyBytes == 1_048_576)
    }

    @Test(arguments: [
        ("[1]", "", "top level"),
        ("{", "", "line 1, column 2"),
        ("{\n\"endpoints\": [,]}", "", "line 2"),
        (#"{"endpoints":[]}"#, "endpoints", "non-empty"),
        (#"{"endpoint":[]}"#, "endpoint", "unknown key"),
        (#"{"listen":"8080","endpoints":[{"name":"a","path":"/a","tokens":["x"]}]}"#, "listen", "host:port"),
        (#"{"listen":"[::1]:70000","endpoints":[{"name":"a","path":"/a","tokens":["x"]}]}"#, "listen", "host:port"),
        (#"{"endpoints":[{"name":"a","path":"a","tokens":["x"]}]}"#, "endpoints[0].path", "start with /"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":[]}]}"#, "endpoints[0].tokens", "non-empty"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":[""]}]}"#, "endpoints[0].tokens[0]", "non-empty"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["env:"]}]}"#, "endpoints[0].tokens[0]", "names no"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"],"secret":1}]}"#, "endpoints[0].secret", "unknown key"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]},{"name":"a","path":"/b","tokens":["x"]}]}"#, "endpoints[1].name", "duplicate"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]},{"name":"b","path":"/a","tokens":["x"]}]}"#, "endpoints[1].path", "duplicate"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"classify":{"x.y":"orderz"}}"#, "classify.x.y", "one of"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"limits":{"maxBodyBytes":"1"}}"#, "limits.maxBodyBytes", "number"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"limits":{"maxBodyBytes":0}}"#, "limits.maxBodyBytes", "between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"limits":{"maxBodyBytez":1}}"#, "limits.maxBodyBytez", "unknown key"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"dedupWindowSeconds":-1}"#, "dedupWindowSeconds", "between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file"}]}"#, "sinks[0].path", "required"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"ftp","name":"x"}]}"#, "sinks[0].type", "must be"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"shell","name":"x","command":"rm -rf /"}]}"#, "sinks[0].command", "no shell string"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"../x","path":"/tmp/x"}]}"#, "sinks[0].name", "names files"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"x","path":"/x","mode":"999"}]}"#, "sinks[0].mode", "octal"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"x","path":"/x","categories":["order"]}]}"#, "sinks[0].categories[0]", "one of"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"x","path":"/x","events":["ord*"]}]}"#, "sinks[0].events[0]", "pattern"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"x","path":"/x","retry":{"maxAttempts":0}}]}"#, "sinks[0].retry.maxAttempts", "between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"shell","name":"x","command":["/bin/true"],"concurrency":100}]}"#, "sinks[0].concurrency", "between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"sinks":[{"type":"file","name":"x","path":"/x"},{"type":"file","name":"x","path":"/y"}]}"#, "sinks[1].name", "duplicate"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"log":{"maxBytes":10}}"#, "log.maxBytes", "between 4096"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"log":{"keepFiles":-1}}"#, "log.keepFiles", "between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"log":{"keepDays":"7"}}"#, "log.keepDays", "number"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"log":{"checkpointSeconds":0}}"#, "log.checkpointSeconds", "between 1"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"log":{"maxSize":1}}"#, "log.maxSize", "unknown key"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"admin":true}"#, "admin", "must be an object"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"admin":{"listen":"9101"}}"#, "admin.listen", "host:port"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"admin":{"port":9101}}"#, "admin.port", "unknown key"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"tls":"/etc/cert.pem"}"#, "tls", "must be an object"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"tls":{"certificate":"/c.pem"}}"#, "tls.privateKey", "required"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"tls":{"certificate":"","privateKey":"/k"}}"#, "tls.certificate", "empty"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"tls":{"cert":"/c","privateKey":"/k"}}"#, "tls.cert", "unknown key"),
    ])
    func rejectsNamingTheKey(_ json: String, _ path: String, _ fragment: String) {
        do {
            _ = try ConfigDecoder.decode(Array(json.utf8))
            Issue.record("accepted \(json)")
        } catch {
            #expect(error.path == path, "\(error)")
            #expect(error.message.contains(fragment), "\(error)")
        }
    }

    @Test(arguments: [
        ("literal-token", SecretReference.literal("literal-token")), ("env:SPP_T", .environment("SPP_T")),
        ("file:/run/secrets/t", .file("/run/secrets/t")), ("credential:spp-token", .credential("spp-token")),
    ])
    func secretReferences(_ text: String, _ ref: SecretReference) {
        #expect(SecretReference(parsing: text) == ref)
        #expect(!ref.description.contains("literal-token"))
    }

    @Test(arguments: [
        ("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:9000", "::1", 9000), ("localhost:0", "localhost", 0),
        ("0.0.0.0:443", "0.0.0.0", 443),
    ])
    func listenAddresses(_ text: String, _ host: String, _ port: Int) {
        #expect(DaemonConfig.ListenAddress(parsing: text) == DaemonConfig.ListenAddress(host: host, port: port))
    }
}
