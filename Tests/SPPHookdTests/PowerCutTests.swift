// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// Power cuts, not just kill -9: the daemon runs on powerfs (Fixtures/powerfs.py, FUSE), a
/// filesystem that drops at a cut whatever was not made durable (file data not fsynced,
/// directory entries whose parent was not fsynced). Fixtures/powercut.py drives the cuts
/// and checks every acknowledged event and every sink after each restart; `make crash-test`
/// runs many more.
@Suite("Power cuts on a filesystem that forgets what was not synced", .serialized)
struct PowerCutTests {
    static let fixtures = DeployTests.root + "/Tests/SPPHookdTests/Fixtures"

    /// Cancels the test where this machine has no FUSE (saying why).
    static func requireFUSE() throws {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else { try Test.cancel("no /dev/fuse here") }
        let (status, output) = try runProgram("/usr/bin/env", ["python3", "-c", "import mfusepy"])
        if status != 0 { try Test.cancel("python3 cannot import mfusepy (make test installs it): \(output)") }
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, summary: [String: Any], output: String) {
        let (status, output) = try runProgram("/usr/bin/env", ["python3", fixtures + "/powercut.py"] + arguments + ["--workdir", "/tmp"])
        let last = output.split(separator: "\n").last.map(String.init) ?? ""
        let summary = (try? JSONSerialization.jsonObject(with: Data(last.utf8))) as? [String: Any] ?? [:]
        return (status, summary, output)
    }

    @Test func theFilesystemModelsPowerLoss() throws {
        try Self.requireFUSE()
        let (status, _, output) = try Self.run(["--selftest"])
        #expect(status == 0 && output.contains(#""selftest": "ok""#), "\(output)")
    }

    @Test func acknowledgedEventsSurvivePowerCuts() throws {
        try Self.requireFUSE()
        let (status, summary, output) = try Self.run(["--binary", DaemonProcess.binary, "--cuts", "50", "--seed", "7"])
        #expect(status == 0, "\(output)")
        #expect(summary["cuts"] as? Int == 50 && (summary["acknowledged"] as? Int ?? 0) > 0, "\(output)")
        #expect(summary["violations"] as? Int == 0, "\(output)")
    }

    /// With EIO injected on file and directory fsyncs, nothing is acknowledged while a write
    /// it depends on is in doubt.
    @Test func failedFsyncsNeverAcknowledgeAnEvent() throws {
        try Self.requireFUSE()
        let (status, summary, output) = try Self.run(["--binary", DaemonProcess.binary, "--cuts", "30", "--seed", "11", "--eio", "0.05"])
        #expect(status == 0, "\(output)")
        #expect(summary["cuts"] as? Int == 30 && summary["violations"] as? Int == 0, "\(output)")
    }

    /// One failed fdatasync of one file under a backlog, then the writer goes on (the sink's
    /// retry, the log's next batch, the next dead letter), then a power cut. Linux may drop
    /// what that sync was to write and still count it in the file's size; a writer that
    /// appends behind it leaves a hole of zeros (the file sink and dead letters did). No
    /// line with NUL bytes, nothing at or below a cursor missing.
    @Test(arguments: ["out/orders.jsonl", "data/events.jsonl", "dead-letters/hook.jsonl", "cursors/files.json"])
    func aFailedFsyncLeavesNoHoleUnderLaterWrites(target: String) throws {
        try Self.requireFUSE()
        let (status, summary, output) = try Self.run(["--binary", DaemonProcess.binary, "--scenario", "fsync-eio", "--target", target])
        #expect(status == 0, "\(output)")
        // The case happened as designed: that file's sync failed once, and every sink caught up.
        #expect(summary["failedFsyncs"] as? Int == 1 && summary["delivered"] as? Bool == true, "\(output)")
        #expect((summary["acknowledged"] as? Int ?? 0) >= 3000 && summary["violations"] as? Int == 0, "\(output)")
    }

    /// The file sink's first directory sync fails (EIO) after its `mkdir` worked; the retry
    /// finds the directory there and must sync its entry again, or a cut takes the output the
    /// cursor counts as delivered. (Found by the random walk above in 1 loaded run in 4.)
    @Test func aRetryAfterAFailedDirectorySyncSyncsItAgain() throws {
        try Self.requireFUSE()
        let (status, summary, output) = try Self.run(["--binary", DaemonProcess.binary, "--scenario", "dirsync-retry"])
        #expect(status == 0, "\(output)")
        // The case happened as designed: the one failed sync was the sink's, which retried and delivered.
        #expect(summary["failedDirsyncs"] as? Int == 1 && summary["sinkRetried"] as? Bool == true, "\(output)")
        #expect(summary["delivered"] as? Bool == true && summary["violations"] as? Int == 0, "\(output)")
    }
}
