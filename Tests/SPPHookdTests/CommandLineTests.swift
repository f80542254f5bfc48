// SPDX-License-Identifier: MIT
import Foundation
import Testing

@Suite("Command line")
struct CommandLineTests {
    @Test func checkConfigAcceptsTheExample() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config.example.json").path
        let (status, output) = try runCommand(["check-config", example], environment: ["SPP_WEBHOOK_TOKEN": ""])
        #expect(status == 0, "\(output)")
        #expect(output.contains("OK (listen 127.0.0.1:8080, 1 endpoint(s): /spp/main"))
    }

    @Test(arguments: [
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"limits":{"maxBodyBytes":-5}}"#, "limits.maxBodyBytes: must be between"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["x"]}],"colour":"red"}"#, "colour: unknown key"),
        ("{\n  \"endpoints\": [\n    {\"name\": \"a\",}\n  ]\n}", "line 3, column 18"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["file:/nonexistent/token"]}]}"#, "endpoints[0].tokens[0]: cannot read /nonexistent/token"),
        (#"{"endpoints":[{"name":"a","path":"/a","tokens":["env:SURELY_UNSET_VARIABLE_42"]}]}"#, "endpoints[0].tokens: no token could be resolved"),
    ])
    func checkConfigNamesTheOffendingKey(_ config: String, _ message: String) throws {
        let dir = TemporaryDirectory()
        try config.write(toFile: dir.file("c.json"), atomically: true, encoding: .utf8)
        let (status, output) = try runCommand(["check-config", dir.file("c.json")])
        #expect(status == 1)
        #expect(output.contains(dir.file("c.json")), "\(output)")
        #expect(output.contains(message), "\(output)")
    }

    @Test func missingConfigFileIsAClearError() throws {
        let (status, output) = try runCommand(["serve", "--config", "/nonexistent/spp.json"])
        #expect(status == 1)
        #expect(output.contains("/nonexistent/spp.json: cannot read"), "\(output)")
    }

    @Test func withoutAConfigTheEmbeddedDefaultIsUsed() throws {
        let dir = TemporaryDirectory()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
        p.arguments = ["serve"]
        p.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        let pipe = Pipe()
        p.standardError = pipe
        try p.run()
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        // The line that names the configuration's source comes before the listener is opened.
        while Date() < deadline && !text.contains("configuration loaded") {
            let data = pipe.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        if p.isRunning { p.terminate() }
        p.waitUntilExit()
        #expect(text.contains("the embedded default (config.example.json)"), "\(text)")
    }
}
