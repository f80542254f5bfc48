// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// Slow and idle clients against the real binary: the daemon keeps serving a normal client
/// whose requests keep succeeding throughout.
@Suite("Slow clients: slowhttptest, idle keep-alive floods")
struct SlowClientTests {
    /// Posts unique events on a new connection each time until `until` returns true;
    /// returns the statuses and the slowest round trip.
    static func normalClient(_ port: UInt16, prefix: String, until done: () -> Bool) -> (statuses: [Int], slowest: Double) {
        var statuses: [Int] = []
        var slowest = 0.0
        var n = 0
        while !done() {
            n += 1
            let start = Date()
            guard let client = try? RawHTTPClient(port: port, timeout: 5) else {
                statuses.append(-1)
                continue
            }
            client.send(RawHTTPClient.post("/spp/main", sppBody(id: "\(prefix)-\(n)")))
            statuses.append(client.readResponse()?.status ?? -1)
            slowest = max(slowest, Date().timeIntervalSince(start))
            usleep(50_000)
        }
        return (statuses, slowest)
    }

    /// slowhttptest in slowloris (-H) and slow-body (-B) modes: 600 connections opened at
    /// 300/s, each sending a little every second. The daemon answers 408 and closes each at
    /// its header/body timeout, and the normal client is served all along.
    @Test(arguments: [["-H"], ["-B", "-s", "16384"]])
    func slowhttptestDoesNotStarveNormalClients(_ mode: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/slowhttptest") else {
            Issue.record("slowhttptest is not installed (make test installs it)")
            return
        }
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: #""limits": {"headerTimeoutSeconds": 2, "bodyTimeoutSeconds": 2}"#)
        let attack = Process()
        attack.executableURL = URL(fileURLWithPath: "/usr/bin/slowhttptest")
        attack.arguments = mode + ["-c", "600", "-r", "300", "-i", "1", "-l", "10", "-x", "10", "-p", "3",
            "-g", "-o", dir.file("report"), "-u", "http://127.0.0.1:\(daemon.port)/spp/main"]
        attack.currentDirectoryURL = URL(fileURLWithPath: dir.path)
        _ = FileManager.default.createFile(atPath: dir.file("slowhttptest.out"), contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: dir.file("slowhttptest.out")))
        attack.standardOutput = output
        attack.standardError = output
        try attack.run()
        defer { if attack.isRunning { kill(attack.processIdentifier, SIGKILL) } }
        let started = Date()
        // Serve normal traffic while the attack runs (at least 4 s, at most 20).
        let normal = Self.normalClient(daemon.port, prefix: mode[0]) {
            (Date().timeIntervalSince(started) > 4 && !attack.isRunning) || Date().timeIntervalSince(started) > 20
        }
        attack.waitUntilExit()
        let raw = String(decoding: FileManager.default.contents(atPath: dir.file("slowhttptest.out")) ?? Data(), as: UTF8.self)
        let report = raw.replacingOccurrences(of: #"\x1B\[[0-9;]*m"#, with: "", options: .regularExpression)
        // Per second: Seconds,Closed,Pending,Connected,... — how many slow connections were held.
        let rows = dir.read("report.csv").split(separator: "\n").dropFirst().map { $0.split(separator: ",").compactMap { Int($0) } }
        let peakConnected = rows.compactMap { $0.count > 3 ? $0[3] : nil }.max() ?? 0
        #expect(normal.statuses.count >= 40, "normal requests during the attack: \(normal.statuses.count)")
        #expect(normal.statuses.allSatisfy { $0 == 200 }, "\(normal.statuses.filter { $0 != 200 })")
        #expect(normal.slowest < 2, "slowest normal round trip: \(normal.slowest) s")
        #expect(report.range(of: #"service available:\s+NO"#, options: .regularExpression) == nil, "\(report.suffix(800))")
        #expect(attack.terminationStatus == 0, "slowhttptest exited \(attack.terminationStatus) (\(attack.terminationReason.rawValue)): \(report)")
        #expect(peakConnected >= 300, "the attack held \(peakConnected) connections at its peak")
        // The daemon closed them (timeouts), rather than the tool giving up at its time limit.
        #expect(report.contains("No open connections left"), "\(report.suffix(800))")
        #expect(dir.events().count == normal.statuses.count, "only the normal client's events were stored")
    }

    /// Keep-alive connections left idle fill the table: the one idle the longest is closed
    /// to make room for a client with a request, instead of answering it 503.
    @Test func idleKeepAliveFloodDoesNotLockOutNewClients() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(
            dir: dir, extra: #""limits": {"maxConnections": 20, "idleTimeoutSeconds": 300}, "admin": {"listen": "127.0.0.1:0"}"#)
        let admin = try daemon.adminPort()
        var idle: [RawHTTPClient] = []
        for i in 0..<20 {
            let c = try RawHTTPClient(port: daemon.port, timeout: 1)
            c.send(RawHTTPClient.post("/spp/main", sppBody(id: "idle-\(i)")))
            #expect(c.readResponse()?.status == 200)
            idle.append(c)
        }
        // Twenty new clients, each with a request, each staying connected: every one is served.
        var newcomers: [RawHTTPClient] = []
        for i in 0..<20 {
            let c = try RawHTTPClient(port: daemon.port, timeout: 5)
            c.send(RawHTTPClient.post("/spp/main", sppBody(id: "new-\(i)")))
            #expect(c.readResponse()?.status == 200, "newcomer \(i)")
            newcomers.append(c)
        }
        // The oldest idle connections made room, in order.
        let closed = idle.map { $0.isClosedByPeer() }
        #expect(closed.filter { $0 }.count >= 19, "\(closed)")
        #expect(closed.first == true)
        // Connections that never sent a request are not evicted: at the limit with only
        // those, a newcomer gets the fast 503.
        newcomers = []
        try daemon.waitForOpenConnections(closed.filter { !$0 }.count, admin: admin)
        let fresh = try (0..<20).map { _ in try RawHTTPClient(port: daemon.port) }
        try daemon.waitForOpenConnections(20, admin: admin)
        let extra = try RawHTTPClient(port: daemon.port)
        #expect(extra.readResponse()?.status == 503)
        #expect(fresh.count == 20)
    }
}
