// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// HTTPS straight on the listener (`tls`), through the system OpenSSL.
@Suite("Direct HTTPS listener")
struct TLSListenerTests {
    static func probe(_ port: UInt16, ca: String, _ extra: [String] = []) throws -> (status: Int32, result: [String: Any]) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tls_probe.py").path
        let (status, output) = try runProgram("/usr/bin/env", ["python3", script, "\(port)", ca] + extra)
        let line = output.split(separator: "\n").last.map(String.init) ?? ""
        return (status, (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? ["raw": output])
    }

    @Test func servesWebhooksOverTLS12PlusWithALPNAndReloadsCertificatesOnSIGHUP() throws {
        let dir = TemporaryDirectory()
        let (ca, cert, key) = try makeCertificates(in: dir)
        let daemon = try DaemonProcess(dir: dir, extra: #""tls": {"certificate": "\#(cert)", "privateKey": "\#(key)"}"#)

        let first = try Self.probe(daemon.port, ca: ca, ["--alpn", "h2,http/1.1", "--post", "/spp/main", sppBody(id: "tls-1")])
        #expect(first.status == 0, "\(first.result)")
        #expect(first.result["version"] as? String == "TLSv1.3")
        #expect(first.result["alpn"] as? String == "http/1.1", "ALPN picks HTTP/1.1 even when h2 is offered first")
        #expect(first.result["status"] as? Int == 200, "\(first.result)")
        #expect(dir.events().count == 1)
        #expect(!dir.read("data/events.jsonl").contains(DaemonProcess.token))
        // Our own client too: send-test over https with the test CA.
        let sent = try runCommand(["send-test", "--event", "invoice.paid", "--url", "https://127.0.0.1:\(daemon.port)/spp/main",
            "--token", DaemonProcess.token, "--ca-file", ca])
        #expect(sent.status == 0, "\(sent.output)")
        #expect(dir.events().count == 2)

        // TLS 1.2 works, with a forward-secret AEAD cipher; TLS 1.1 is refused.
        let tls12 = try Self.probe(daemon.port, ca: ca, ["--max-version", "1.2"])
        #expect(tls12.result["version"] as? String == "TLSv1.2")
        #expect((tls12.result["cipher"] as? String)?.hasPrefix("ECDHE-") == true, "\(tls12.result)")
        #expect((tls12.result["cipher"] as? String)?.contains("GCM") == true || (tls12.result["cipher"] as? String)?.contains("CHACHA") == true)
        let tls11 = try Self.probe(daemon.port, ca: ca, ["--max-version", "1.1"])
        #expect(tls11.status == 1, "TLS 1.1 must be refused: \(tls11.result)")

        // Plain HTTP on the TLS port gets no answer a client could take for success.
        let plain = try RawHTTPClient(port: daemon.port, timeout: 3)
        plain.send(RawHTTPClient.post("/spp/main", sppBody(id: "plain")))
        #expect(plain.readResponse()?.status != 200)
        #expect(dir.events().count == 2)

        // Renewed certificate files: SIGHUP, and new connections get the new certificate.
        let oldSerial = try #require(first.result["serial"] as? String)
        let renewed = TemporaryDirectory()
        let (newCA, newCert, newKey) = try makeCertificates(in: renewed)
        try FileManager.default.removeItem(atPath: cert)
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: newCert, toPath: cert)
        try FileManager.default.copyItem(atPath: newKey, toPath: key)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("configuration reloaded") }
        let after = try Self.probe(daemon.port, ca: newCA, ["--post", "/spp/main", sppBody(id: "tls-2")])
        #expect(after.result["status"] as? Int == 200, "\(after.result)")
        #expect(after.result["serial"] as? String != oldSerial)
        #expect(try Self.probe(daemon.port, ca: ca).status == 1, "the old CA no longer verifies the new certificate")

        // A reload with a key that does not match keeps the running certificate.
        try FileManager.default.removeItem(atPath: key)
        try FileManager.default.copyItem(atPath: dir.file("ca.key"), toPath: key)
        daemon.kill(SIGHUP)
        try waitFor { daemon.stderr.contains("reload failed") }
        #expect(daemon.stderr.contains("tls: privateKey \(key)"), "the reason names the key file")
        #expect(try Self.probe(daemon.port, ca: newCA, ["--post", "/spp/main", sppBody(id: "tls-3")]).result["status"] as? Int == 200)
        #expect(daemon.stop() == 0)
        #expect(dir.events().count == 4)
    }

    @Test func aMissingCertificateRefusesToStartNamingTheKey() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(
            dir: dir, extra: #""tls": {"certificate": "\#(dir.file("nope.pem"))", "privateKey": "\#(dir.file("nope.key"))"}"#,
            start: false)
        #expect(throws: DaemonError.self) { try daemon.launch() }
        #expect(daemon.stderr.contains("tls: certificate \(dir.file("nope.pem"))"), "\(daemon.stderr)")
    }
}
