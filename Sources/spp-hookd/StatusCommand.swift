// SPDX-License-Identifier: MIT
import ArgumentParser
import Glibc
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the daemon's state: per endpoint counts, per sink lag and errors, the log's size.",
        discussion: """
            Reads the data directory: status.json (rewritten by the running daemon about once a \
            second), the sink cursors, the dead letters and the log segments. Works while the \
            daemon runs and after it stopped (then counts are those of its last run). Exit \
            status: 0 when the daemon runs, 3 when it does not.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.") var config: String?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let loaded = try loadOrExit(config)
        let c = loaded.config
        let dir = LogDirectory(c.dataDir)
        let snapshot = (try? readWholeFile(Daemon.statusPath(dataDir: c.dataDir)))
            .flatMap { try? JSONParser.parse($0) }.flatMap(StatusSnapshot.init(json:))
        let running = snapshot.map { Self.isDaemon($0.pid) } ?? false
        let segments = dir.rotated()
        let lastSeq = max(snapshot?.lastSeq ?? 0, Self.lastSeq(in: dir))
        let logBytes = dir.totalBytes()

        let reports = c.sinks.map { sink in
            Self.report(sink, live: snapshot?.sinks.first { $0.name == sink.name }, lastSeq: lastSeq, dataDir: c.dataDir)
        }
        let sinks = reports.map(\.json), sinkLines = reports.flatMap(\.lines)
        if json {
            var o = JSONObject([
                .init(key: "running", value: .bool(running)), .init(key: "config", value: .string(loaded.source)),
                .init(key: "dataDir", value: .string(c.dataDir)),
                .init(key: "lastSeq", value: .number(String(lastSeq))),
                .init(key: "logBytes", value: .number(String(logBytes))),
                .init(key: "segments", value: .number(String(segments.count + 1))),
            ])
            if let snapshot {
                o.set("pid", .number(String(snapshot.pid)))
                o.set("startedAt", .string(snapshot.startedAt.rfc3339))
                o.set("updatedAt", .string(snapshot.updatedAt.rfc3339))
                o.set("endpoints", .array(snapshot.endpoints.map { .object($0.json) }))
            }
            o.set("sinks", .array(sinks))
            print(JSONWriter.string(.object(o)))
        } else {
            if let snapshot {
                print(running
                    ? "spp-hookd is running (pid \(snapshot.pid), since \(snapshot.startedAt.rfc3339); status of \(snapshot.updatedAt.rfc3339))"
                    : "spp-hookd is not running (last status written \(snapshot.updatedAt.rfc3339) by pid \(snapshot.pid))")
                print("listening on \(snapshot.listen.joined(separator: ", "))" + (snapshot.admin.map { "; admin on \($0)" } ?? ""))
            } else {
                print("spp-hookd has not run with this data directory (no status.json in \(c.dataDir))")
            }
            print("config: \(loaded.source)")
            print("event log: \(c.dataDir)/events.jsonl, last seq \(lastSeq), \(Self.bytes(logBytes)) in \(segments.count + 1) segment(s)")
            if let snapshot, !snapshot.endpoints.isEmpty {
                print("endpoints (since start):")
                for e in snapshot.endpoints {
                    let name = e.name.padded(16), received = String(e.received).padded(7), stored = String(e.stored).padded(7)
                    let duplicates = String(e.duplicates).padded(5), rejected = String(e.rejected).padded(5)
                    let last = e.lastStoredAt.map { "  last stored \($0.rfc3339)" } ?? ""
                    print("  \(name) received \(received) stored \(stored) duplicates \(duplicates) rejected \(rejected) failed \(e.failed)\(last)")
                }
            }
            print(c.sinks.isEmpty ? "sinks: none configured" : "sinks:")
            for line in sinkLines { print(line) }
        }
        if !running { throw ExitCode(3) }
    }

    /// One sink's part of the report: its JSON object and its lines of text. `live` is the
    /// daemon's last view of it; the cursor and dead letters on disk are read now.
    static func report(_ sink: SinkConfig, live: StatusSnapshot.Sink?, lastSeq: UInt64, dataDir: String) -> (json: JSONValue, lines: [String]) {
        var sinkLines: [String] = []
        let cursor = SinkRunner.savedCursor(dataDir: dataDir, sink: sink.name)
        let cursorSeq = max(cursor?.seq ?? 0, live?.cursorSeq ?? 0)
        let lag = lastSeq > cursorSeq ? lastSeq - cursorSeq : 0
        let dead = DeadLetters(dataDir: dataDir, sink: sink.name).list().lines.count
        var retry = "-"
        if let live, live.retrying > 0 {
            retry = "\(live.retrying) waiting" + (live.nextRetryInSeconds.map { ", next in \(Int($0)) s" } ?? "")
        }
        let lastOK = live?.lastSuccessAt?.rfc3339 ?? "-"
        let lastError = live?.lastError.map { "\(live?.lastErrorAt?.rfc3339 ?? "") \(DisplayText.sanitized($0))" } ?? "-"
        let name = sink.name.padded(16), cursorText = String(cursorSeq).padded(8), lagText = String(lag).padded(6)
        let deadText = String(dead).padded(5), indent = "".padded(16)
        sinkLines.append("  \(name) cursor \(cursorText) lag \(lagText) dead letters \(deadText) retry \(retry)")
        sinkLines.append("  \(indent) last success \(lastOK)   last error \(lastError)")
        if let warning = live?.warning { sinkLines.append("  \(indent) warning: \(warning)") }
        if let live, live.skipped > 0 { sinkLines.append("  \(indent) passed over by where/transform: \(live.skipped)") }
        // The daemon's view of the sink, with what is on disk now.
        var state = live ?? StatusSnapshot.Sink(name: sink.name)
        state.cursorSeq = cursorSeq
        var o = state.json
        o.set("lag", .number(String(lag)))
        o.set("deadLetters", .number(String(dead)))
        return (.object(o), sinkLines)
    
    }

    /// Whether `pid` is alive and still a spp-hookd (a stopped daemon's pid may be reused).
    static func isDaemon(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let cmdline = try? readWholeFile("/proc/\(pid)/cmdline", limit: 1 << 16) else { return true }  // hidden: trust kill
        return String(decoding: cmdline.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains("spp-hookd")
    }

    /// The seq of the last complete line in the newest non-empty segment.
    static func lastSeq(in dir: LogDirectory) -> UInt64 {
        var follower = LogFollower(dataDir: dir.directory)
        return follower.last(1, where: { EventLogLine($0[...]) != nil }).first.flatMap { EventLogLine($0[...])?.seq } ?? 0
    }

    static func bytes(_ n: Int64) -> String {
        n < 10 * 1024 ? "\(n) B" : n < 10 << 20 ? "\(n >> 10) KiB" : "\(n >> 20) MiB"
    }
}
