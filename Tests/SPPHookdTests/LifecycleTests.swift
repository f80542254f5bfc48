// SPDX-License-Identifier: MIT
import Foundation
import Glibc
import SPPHookPOSIX
import SPPHookServer
import Synchronization
import Testing

/// Services start in order and stop in reverse: a stop ends every thread the daemon started
/// (the binary names any left: see `JQSinkTests` for a sink that cannot stop), and a failed
/// start ends what the steps before it started.
@Suite("Start and stop")
struct LifecycleTests {
    static let sinks = """
        "admin": {"listen": "127.0.0.1:0"},
        "sinks": [{"name": "files", "type": "file", "path": "out.jsonl"},
                  {"name": "hook", "type": "shell", "command": ["/bin/true"], "concurrency": 2}]
        """

    /// SIGTERM while 8 clients post and two sinks deliver: exit 0 with no thread left, every
    /// acknowledged event in the log, and a restart sends the file sink nothing twice.
    @Test func sigtermUnderLoadStopsEveryThreadAndARestartResendsNothing() throws {
        let dir = TemporaryDirectory()
        let daemon = try DaemonProcess(dir: dir, extra: Self.sinks)
        let load = LoadGenerator(port: daemon.port, clients: 8)
        try waitFor { load.count >= 300 && !dir.jsonLines("out.jsonl").isEmpty }
        #expect(daemon.stop(SIGTERM) == 0, "\(daemon.stderr)")
        let acknowledged = load.stop()
        #expect(!daemon.stderr.contains("threads still running"), "\(daemon.stderr)")
        let logged = Set(dir.events().compactMap { $0["seq"] as? Int })
        #expect(acknowledged.allSatisfy { logged.contains($0.seq) }, "acknowledged events missing after SIGTERM")

        let again = try DaemonProcess(dir: dir)
        // Delivered in order: once every logged seq is in the file, a re-send would be too.
        try waitFor(60) { Set(dir.jsonLines("out.jsonl").compactMap { $0["seq"] as? Int }) == logged }
        #expect(again.stop(SIGTERM) == 0, "\(again.stderr)")
        let seqs = dir.jsonLines("out.jsonl").compactMap { $0["seq"] as? Int }
        #expect(seqs.count == Set(seqs).count, "\(seqs.count - Set(seqs).count) events sent to the file sink twice")
    }

    /// The sinks' cursors cannot be created (`data/cursors` is a file): start-up fails after
    /// the event log opened its threads, and the binary ends them before it exits 1.
    @Test func aStartThatFailsAfterTheLogOpenedLeavesNothingRunning() throws {
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("data"), withIntermediateDirectories: true)
        try "not a directory".write(toFile: dir.file("data/cursors"), atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(dir: dir, extra: Self.sinks, start: false)
        try daemon.process.run()
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 1)
        try waitFor { daemon.stderr.contains("cursor") }
        #expect(!daemon.stderr.contains("threads still running"), "\(daemon.stderr)")
        #expect(daemon.stderr.contains("event log open"), "the failure comes after the log opened: \(daemon.stderr)")
    }

    /// A queue whose thread ended runs `sync` work on the caller instead of waiting for ever
    /// (a drain or checkpoint asked for after the log stopped), and its thread is gone.
    @Test func aFinishedWorkerQueueRunsSyncWorkOnTheCaller() throws {
        let queue = WorkerThread(name: "finished-queue")
        let before = Flag(), ran = Flag(), returned = Signal()
        queue.async { before.set() }
        queue.finish()
        #expect(before.isSet, "what was queued before finish() ran")
        #expect(!ThreadCensus.others().contains("finished-queue"))
        let caller = POSIXThread.spawn(name: "sync-caller") {
            queue.sync { ran.set() }
            returned.notify()
        }
        #expect(returned.wait(seconds: 30), "sync on a finished queue must not wait for a thread that is gone")
        if ran.isSet { caller.join() }
        #expect(ran.isSet)
    }

    final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .releasing) }
        var isSet: Bool { value.load(ordering: .acquiring) }
    }

    /// The census sees a thread of this process by name while it runs, and not once joined.
    @Test func theThreadCensusSeesARunningThreadAndNotAJoinedOne() throws {
        let (started, release) = (Signal(), Signal())
        let thread = POSIXThread.spawn(name: "census-probe") {
            started.notify()  // named by now: the name is set before the body runs
            release.wait(seconds: nil)
        }
        started.wait(seconds: nil)
        #expect(ThreadCensus.others().contains("census-probe"))
        release.notify()
        thread.join()
        #expect(!ThreadCensus.others().contains("census-probe"))
    }
}
