// SPDX-License-Identifier: MIT
import Foundation

/// A throwaway PostgreSQL 15 cluster for one test: `initdb` and `pg_ctl` as the postgres
/// user on a directory it owns, listening on 127.0.0.1 (a port picked until one is free)
/// with password (SCRAM) authentication over TCP, and trust on its own unix socket, which
/// `sql` uses as the superuser. Database `spp`, owned by role `spp`. Stopped (fast) and
/// removed when the test is done.
final class PostgresCluster {
    static let bin = "/usr/lib/postgresql/15/bin"
    static let password = "pg-secret-5b2e9c1d"

    let dir: String
    private(set) var port: UInt16 = 0

    /// The connection URI the sinks use (role spp, with its password).
    var url: String { "postgresql://spp:\(Self.password)@127.0.0.1:\(port)/spp" }

    init() throws {
        dir = "/tmp/spp-hookd-pg-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        _ = try runProgram("/bin/chown", ["postgres:postgres", dir])
        let initdb = try asPostgres("\(Self.bin)/initdb", ["-D", "\(dir)/data", "-U", "postgres", "--auth-local=trust",
            "--auth-host=scram-sha-256", "--no-sync", "-E", "UTF8"])
        guard initdb.status == 0 else { throw DaemonError(message: "initdb failed: \(initdb.output)") }
        try start()
        try sql("CREATE ROLE spp LOGIN PASSWORD '\(Self.password)'", database: "postgres")
        try sql("CREATE DATABASE spp OWNER spp", database: "postgres")
    }

    /// Starts the server (again), on the same port once one was found.
    func start() throws {
        for attempt in 0..<20 {
            if port == 0 || attempt > 0 { port = UInt16.random(in: 20000...59000) }
            let r = try asPostgres("\(Self.bin)/pg_ctl", ["-D", "\(dir)/data", "-w", "-t", "60", "-l", "\(dir)/log", "-o",
                "-c listen_addresses=127.0.0.1 -p \(port) -k \(dir) -c fsync=off", "start"])
            if r.status == 0 { return }
            let log = (try? String(contentsOfFile: "\(dir)/log", encoding: .utf8)) ?? ""
            guard log.contains("Address already in use") else { throw DaemonError(message: "pg_ctl start failed: \(r.output)\n\(log)") }
        }
        throw DaemonError(message: "no free port for PostgreSQL")
    }

    func stop() {
        _ = try? asPostgres("\(Self.bin)/pg_ctl", ["-D", "\(dir)/data", "-m", "fast", "-w", "stop"])
    }

    func restart() throws {
        let r = try asPostgres("\(Self.bin)/pg_ctl", ["-D", "\(dir)/data", "-m", "fast", "-w", "-t", "60", "-l", "\(dir)/log",
            "-o", "-c listen_addresses=127.0.0.1 -p \(port) -k \(dir) -c fsync=off", "restart"])
        guard r.status == 0 else { throw DaemonError(message: "pg_ctl restart failed: \(r.output)") }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Runs SQL as the superuser over the cluster's unix socket; returns psql's unaligned output.
    @discardableResult
    func sql(_ text: String, database: String = "spp") throws -> String {
        let r = try runProgram("/usr/bin/psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", dir, "-p", String(port), "-U", "postgres",
            "-d", database, "-tA", "-c", text])
        guard r.status == 0 else { throw DaemonError(message: "psql: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A tablespace `small` on a tmpfs of `bytes`, for a server whose disk fills up.
    func smallTablespace(bytes: Int) throws -> SmallDisk {
        let path = "\(dir)/small"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        let mounted = try runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "spp-hookd-pg-small", path])
        guard mounted.status == 0 else { throw DaemonError(message: "mount: \(mounted.output)") }
        _ = try runProgram("/bin/chown", ["postgres:postgres", path])
        try sql("CREATE TABLESPACE small LOCATION '\(path)'")
        return SmallDisk(cluster: self, path: path)
    }

    struct SmallDisk {
        let cluster: PostgresCluster
        let path: String

        /// Drops the tablespace (when nothing is left in it) and unmounts it.
        func release() {
            _ = try? cluster.sql("DROP TABLESPACE IF EXISTS small")
            cluster.stop()
            _ = try? runProgram("/bin/umount", ["-l", path])
        }
    }

    /// A psql session kept open (for a lock held across other work); `finish` ends it.
    func session() throws -> Session { try Session(self) }

    final class Session {
        let process = Process()
        let input = Pipe()

        init(_ cluster: PostgresCluster) throws {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
            process.arguments = ["-X", "-q", "-h", cluster.dir, "-p", String(cluster.port), "-U", "postgres", "-d", "spp"]
            process.standardInput = input
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        func send(_ sql: String) { input.fileHandleForWriting.write(Data((sql + "\n").utf8)) }

        func finish() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }

        deinit { if process.isRunning { process.terminate(); process.waitUntilExit() } }
    }

    /// Runs a PostgreSQL program as the postgres user. Its output goes to a file, not a pipe:
    /// the server `pg_ctl start` leaves running would hold a pipe open, and a reader waiting
    /// for its end would wait as long as the server runs.
    private func asPostgres(_ program: String, _ args: [String]) throws -> (status: Int32, output: String) {
        let out = "\(dir)/\(URL(fileURLWithPath: program).lastPathComponent).out"
        _ = FileManager.default.createFile(atPath: out, contents: nil)  // the open below says why it failed
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
        defer { try? handle.close() }
        let p = Process()
        // Only 0-2 reach it: the server must not keep the descriptor through which Foundation's
        // Process learns that pg_ctl exited (it would wait for the server too).
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", #"for fd in /proc/$BASHPID/fd/*; do n=${fd##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null; "#
            + #"exec /usr/sbin/runuser -u postgres -- "$@""#, "pg", program] + args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }
}
