// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// A real systemd, booted as PID 1 in namespaces of its own on a throw-away overlay of this
/// machine's root (`scripts/systemd-sandbox.sh`): what is installed, enabled or written in
/// it vanishes with it, and it has a network namespace of its own (loopback only).
final class SystemdSandbox {
    private let state = TemporaryDirectory("spp-hookd-systemd")
    private static let script = DeployTests.root + "/scripts/systemd-sandbox.sh"

    /// Boots one, with the project folder visible inside at its own path (on an overlay of
    /// its own), or cancels the test (saying why) where this machine refuses the namespaces
    /// or the overlay. Any other failure to boot fails the test.
    static func boot() throws -> SystemdSandbox {
        let sandbox = SystemdSandbox()
        let (status, output) = try runProgram("/bin/bash", [script, "boot", sandbox.state.path, DeployTests.root])
        if status == 77 { try Test.cancel("cannot boot systemd in namespaces here: \(output)") }
        guard status == 0 else { throw DaemonError(message: "systemd did not boot (\(status)): \(output)") }
        return sandbox
    }

    private init() {}

    deinit { _ = try? runProgram("/bin/bash", [Self.script, "halt", state.path]) }

    /// Runs `script` with bash inside, as root, in `directory`; stdout and stderr together.
    /// A command still running after `timeout` seconds is killed (status 124).
    @discardableResult
    func run(_ script: String, in directory: String = "/", timeout: Int = 120) throws -> (status: Int32, output: String) {
        try runProgram("/bin/bash", [Self.script, "run", state.path, "timeout", "--kill-after=5", "\(timeout)",
            "bash", "-c", "cd \(directory) && { \(script)\n}"])
    }

    /// Runs `script`, which must succeed; returns its output.
    @discardableResult
    func expectSuccess(_ script: String, in directory: String = "/", timeout: Int = 120,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let (status, output) = try run(script, in: directory, timeout: timeout)
        #expect(status == 0, "`\(script)` exited \(status):\n\(output)", sourceLocation: sourceLocation)
        guard status == 0 else { throw DaemonError(message: "`\(script)` failed") }
        return output
    }

    /// Polls the shell condition `condition` inside (every 0.2 s) until it holds, or fails
    /// after `seconds`, with what `diagnose` prints then.
    func waitUntil(_ condition: String, seconds: Int = 30, diagnose: String = "true",
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let tries = seconds * 5
        let (status, output) = try run("""
            for i in $(seq 1 \(tries)); do if \(condition); then exit 0; fi; sleep 0.2; done
            echo "not within \(seconds) s: \(condition.replacingOccurrences(of: "\"", with: "'"))"; \(diagnose); exit 1
            """, timeout: seconds + 30)
        #expect(status == 0, "\(output)", sourceLocation: sourceLocation)
        guard status == 0 else { throw DaemonError(message: "condition not met: \(condition)") }
    }

    /// The commands of the README's shell block marked `<!-- real-systemd test: NAME -->`,
    /// as a user types them: comments cut, `sudo` dropped (the sandbox runs as root).
    static func readmeCommands(_ name: String) throws -> [String] {
        let readme = try String(contentsOfFile: DeployTests.root + "/README.md", encoding: .utf8)
        let marker = "<!-- real-systemd test: \(name) -->"
        guard let at = readme.range(of: marker) else { throw DaemonError(message: "README has no block \(marker)") }
        let rest = readme[at.upperBound...]
        guard let open = rest.range(of: "```sh\n"), let close = rest[open.upperBound...].range(of: "```") else {
            throw DaemonError(message: "README block \(name) is not a ```sh block")
        }
        return rest[open.upperBound..<close.lowerBound].split(separator: "\n").compactMap { raw in
            var line = String(raw)
            if let comment = line.range(of: "  # ") { line = String(line[..<comment.lowerBound]) }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("sudo ") { line.removeFirst(5) }
            return line.isEmpty ? nil : line
        }
    }
}
