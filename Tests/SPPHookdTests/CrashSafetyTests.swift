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
        let acknowledged = Self.killUnderLoad(daemon, LoadGenerator(port: daemon.port, clients: 16), after: 500)

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

    /// Checkpoints are written on every rotation (a 64 KiB log rotates every few dozen events)
    /// and every second, so kills land during checkpoint writes and rotations. After three
    /// kills, every acknowledged event is in the log, and its redelivery is answered as a
    /// duplicate of it: whatever checkpoint start-up found, the index was exact.
    @Test func killsDuringCheckpointsLoseNothingAndKeepDedupExact() throws {
        let dir = TemporaryDirectory()
        let settings = #""log": {"maxBytes": 65536, "checkpointSeconds": 1}"#
        var acknowledged: [LoadGenerator.Ack] = []
        var restartsFromACheckpoint = 0
        for round in 0..<3 {
            let daemon = try DaemonProcess(dir: dir, extra: settings)
            if daemon.stderr.contains("loaded ") && daemon.stderr.contains("entries covering the log") { restartsFromACheckpoint += 1 }
            let acks = Self.killUnderLoad(daemon, LoadGenerator(port: daemon.port, clients: 8, event: { "order.r\(round)-\($0)" }),
                after: 400)
            acknowledged += acks.map { LoadGenerator.Ack(seq: $0.seq, marker: "r\(round)-" + $0.marker) }
        }
        let restarted = try DaemonProcess(dir: dir, extra: settings)
        #expect(restartsFromACheckpoint + (restarted.stderr.contains("entries covering the log") ? 1 : 0) >= 2,
            "start-up used a checkpoint")
        var logged: [Int: String] = [:]
        for e in dir.events() {
            let payload = e["payload"] as? [String: Any]
            logged[e["seq"] as! Int] = "r" + ((payload?["event"] as? String)?.split(separator: "-").first?.dropFirst("order.r".count) ?? "")
                + "-" + (((payload?["data"] as? [String: Any])?["id"] as? String) ?? "")
        }
        let missing = acknowledged.filter { logged[$0.seq] != $0.marker }
        #expect(missing.isEmpty, "\(missing.count) of \(acknowledged.count) acknowledged events missing or wrong")
        // Redeliveries (the same body) of a sample from every round.
        let client = try RawHTTPClient(port: restarted.port)
        var notDuplicate = 0
        for ack in acknowledged where ack.seq % 7 == 0 {
            let parts = ack.marker.split(separator: "-", maxSplits: 1)
            let round = parts[0].dropFirst(), marker = String(parts[1])
            let n = marker.split(separator: "n").last.map(String.init) ?? ""
            client.send(RawHTTPClient.post("/spp/main", sppBody(event: "order.r\(round)-\(n)", id: marker, note: marker)))
            let r = try #require(client.readResponse())
            if r.json["duplicate"] as? Bool != true || r.json["seq"] as? Int != ack.seq { notDuplicate += 1 }
        }
        #expect(notDuplicate == 0, "\(notDuplicate) redeliveries were not answered as duplicates of their original")
        #expect(restarted.stop() == 0)
    }

    /// Lets `load` build up to `count` acknowledged events, then kills the daemon without
    /// warning while requests are in flight; returns what was acknowledged.
    static func killUnderLoad(_ daemon: DaemonProcess, _ load: LoadGenerator, after count: Int,
        sourceLocation: SourceLocation = #_sourceLocation) -> [LoadGenerator.Ack]
    {
        let deadline = Date().addingTimeInterval(30)
        while load.count < count && Date() < deadline { usleep(20_000) }
        daemon.kill(SIGKILL)
        daemon.process.waitUntilExit()
        let acknowledged = load.stop()
        #expect(acknowledged.count >= count, "load did not build up", sourceLocation: sourceLocation)
        return acknowledged
    }
}
