// SPDX-License-Identifier: MIT
import Foundation

/// The Python webhook receiver in Fixtures/receiver.py, on a loopback port, optionally
/// with TLS from a certificate made by `makeCertificates`.
final class Receiver {
    let process = Process()
    let port: UInt16
    let records: String

    init(dir: TemporaryDirectory, tls: (cert: String, key: String)? = nil, secret: String? = nil) throws {
        records = dir.file("received-\(UUID().uuidString).jsonl")
        var args = [records]
        if let tls { args += ["--cert", tls.cert, "--key", tls.key] }
        if let secret { args += ["--secret", secret] }
        port = try Self.start(process, script: "receiver.py", args)
    }

    /// The receiver that checks bodies as chat and automation services document them
    /// (Fixtures/chat_receiver.py).
    init(chatServicesIn dir: TemporaryDirectory) throws {
        records = dir.file("chat-\(UUID().uuidString).jsonl")
        port = try Self.start(process, script: "chat_receiver.py", [records])
    }

    /// A fake SPP API (Fixtures/fake_spp.py) that accepts `apiKey`.
    init(dir: TemporaryDirectory, fakeSPPWithKey apiKey: String) throws {
        records = dir.file("spp-api-\(UUID().uuidString).jsonl")
        port = try Self.start(process, script: "fake_spp.py", [records, apiKey])
    }

    private static func start(_ process: Process, script name: String, _ args: [String]) throws -> UInt16 {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/\(name)").path
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + args
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        guard let p = UInt16(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw DaemonError(message: "\(name) did not start")
        }
        return p
    }

    /// Kills the receiver (SIGKILL: an ignored SIGTERM can be inherited from the test runner).
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }

    /// Requests received so far.
    var requests: [[String: Any]] {
        ((try? String(contentsOfFile: records, encoding: .utf8)) ?? "").split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func requests(to path: String) -> [[String: Any]] { requests.filter { $0["path"] as? String == path } }
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it, made with the
/// openssl command. Returns (caFile, certFile, keyFile).
func makeCertificates(in dir: TemporaryDirectory) throws -> (ca: String, cert: String, key: String) {
    let ca = dir.file("ca.pem"), caKey = dir.file("ca.key"), key = dir.file("server.key"), csr = dir.file("server.csr")
    let cert = dir.file("server.pem"), ext = dir.file("san.ext")
    try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: ext, atomically: true, encoding: .utf8)
    let steps: [[String]] = [
        ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=spp-hookd test CA"],
        ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext],
    ]
    for step in steps {
        let (status, output) = try runProgram("/usr/bin/openssl", step)
        guard status == 0 else { throw DaemonError(message: "openssl \(step[0]): \(output)") }
    }
    return (ca, cert, key)
}
