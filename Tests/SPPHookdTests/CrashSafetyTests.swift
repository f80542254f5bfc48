// SPDX-License-Identifier: MIT
import Foundation
import Synchronization
import Testing

/// Every acknowledged event survives `kill -9` under concurrent load.
@Suite("Crash safety")
struct CrashSafetyTests {
    /// Without rotation, and with a small `log.maxBytes` so the kill may land mid-rotation.
    @Test(arguments: ["", #""log": {"maxBytes": 65536}"#])
    func everyAcknowledgedSeqIsInTheLogAfterKill9(logSettings: String) throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: logSettings)
        let load = LoadGenerator(port: daemon.port, clients: 16)
        // Let load build up, then kill without warning while requests are in flight.
        let deadline = Date().addingTimeInterval(10)
        while load.count < 500 && Date() < deadline { usleep(20_000) }
        daemon.kill(SIGKILL)
        daemon.process.waitUntilExit()
        let acknowledged = load.stop()
        #expect(acknowledged.count >= 500, "load did not build up")

        // Restart on the same data: recovery repairs any torn tail; seq continues.
        let restarted = try DaemonProcess(dir: dir, extra: logSettings)
        let client = try RawHTTPClient(port: restarted.port)
        client.send(RawHTTPClient.post("/spp/main", sppBody(id: "after-restart", note: "after-restart")))
        let after = try #require(client.readResponse())
        #expect(after.status == 200)
        #expect(restarted.stop() == 0)

        var logged: [Int: String] = [:]
        var seqs: [Int] = []
        for e in dir.events() {
            let seq = e["seq"] as! Int
            seqs.append(seq)
            logged[seq] = ((e["payload"] as? [String: Any])?["data"] as? [String: Any])?["id"] as? String
        }
        #expect(seqs == seqs.sorted() && Set(seqs).count == seqs.count, "seq strictly increasing")
        var missing = 0
        for ack in acknowledged where logged[ack.seq] != ack.marker {
            missing += 1
        }
        #expect(missing == 0, "\(missing) of \(acknowledged.count) acknowledged events missing or wrong after kill -9")
        let maxAcked = acknowledged.map(\.seq).max() ?? 0
        #expect((after.json["seq"] as? Int ?? 0) > maxAcked, "seq continues after restart")
        print("kill -9: \(acknowledged.count) acknowledged, all present; \(seqs.count) lines after restart")
    }
}
