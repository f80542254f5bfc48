// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// The units in deploy/ and the install script, checked with systemd's own tools.
@Suite("deploy/ and make install")
struct DeployTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path

    static func run(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        try runProgram(tool, arguments, environment: environment)
    }

    @Test func installedUnitsVerifyAndAreHardened() throws {
        let dir = TemporaryDirectory()
        try ".TH SPP-HOOKD 1\n".write(toFile: dir.file("spp-hookd.1"), atomically: true, encoding: .utf8)
        let (status, output) = try Self.run("/bin/bash", ["\(Self.root)/scripts/install.sh", DaemonProcess.binary],
            environment: ["DESTDIR": dir.file("stage"), "PREFIX": "/usr", "MANPAGE": dir.file("spp-hookd.1")])
        #expect(status == 0, "\(output)")
        let stage = dir.file("stage")
        for path in ["/usr/bin/spp-hookd", "/usr/lib/systemd/system/spp-hookd.service", "/usr/lib/systemd/system/spp-hookd.socket",
            "/etc/spp-hookd/config.json", "/usr/share/doc/spp-hookd/README.md", "/usr/share/man/man1/spp-hookd.1"]
        {
            #expect(FileManager.default.fileExists(atPath: stage + path), "\(path) not installed")
        }
        // The service's dynamic user must read the config (it is not its owner) and never write it.
        let attributes = try FileManager.default.attributesOfItem(atPath: stage + "/etc/spp-hookd/config.json")
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        let unit = try String(contentsOfFile: stage + "/usr/lib/systemd/system/spp-hookd.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/spp-hookd serve --config /etc/spp-hookd/config.json"))
        // The installed config is valid and names its token as a systemd credential.
        let (checkStatus, checkOutput) = try runCommand(["check-config", stage + "/etc/spp-hookd/config.json"],
            environment: ["CREDENTIALS_DIRECTORY": dir.path])
        #expect(checkStatus == 1 && checkOutput.contains("credential"), "\(checkOutput)")
        try "t0k3n-from-credential-0123456789\n".write(toFile: dir.file("webhook-token"), atomically: true, encoding: .utf8)
        #expect(try runCommand(["check-config", stage + "/etc/spp-hookd/config.json"], environment: ["CREDENTIALS_DIRECTORY": dir.path]).status == 0)

        // systemd-analyze verify, with ExecStart pointing at a binary that exists here.
        let units = dir.file("units")
        try FileManager.default.createDirectory(atPath: units, withIntermediateDirectories: true)
        try unit.replacingOccurrences(of: "/usr/bin/spp-hookd", with: DaemonProcess.binary)
            .write(toFile: units + "/spp-hookd.service", atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: "\(Self.root)/deploy/spp-hookd.socket", toPath: units + "/spp-hookd.socket")
        let (verify, verifyOutput) = try Self.run("/usr/bin/systemd-analyze", ["verify", "--man=no", units + "/spp-hookd.service", units + "/spp-hookd.socket"])
        #expect(verify == 0 && verifyOutput.isEmpty, "\(verifyOutput)")

        let (_, security) = try Self.run("/usr/bin/systemd-analyze", ["security", "--offline=true", "\(Self.root)/deploy/spp-hookd.service"])
        let score = security.split(separator: "\n").first { $0.contains("Overall exposure level") }
            .flatMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
        let exposure = try #require(score, "\(security)")
        #expect(exposure <= 2.0, "exposure \(exposure)")
    }

    @Test func installKeepsAnExistingConfig() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("stage/etc/spp-hookd"), withIntermediateDirectories: true)
        try "{\"mine\": true}".write(toFile: dir.file("stage/etc/spp-hookd/config.json"), atomically: true, encoding: .utf8)
        let (status, output) = try Self.run("/bin/bash", ["\(Self.root)/scripts/install.sh", DaemonProcess.binary],
            environment: ["DESTDIR": dir.file("stage")])
        #expect(status == 0, "\(output)")
        #expect(output.contains("keeping existing"))
        #expect(dir.read("stage/etc/spp-hookd/config.json") == "{\"mine\": true}")
    }
}
