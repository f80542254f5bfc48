// SPDX-License-Identifier: MIT
public import ArgumentParser
import CShims
import Glibc
public import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer
import SPPHookSystemd
import Synchronization

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the webhook receiver.",
        discussion: """
            Without --config, uses config.example.json from the working directory when present, \
            else the same file embedded in the binary (loopback only). Under systemd: sockets \
            passed by socket activation are used instead of "listen"; READY=1 is sent once the \
            listener accepts and the log is open; SIGHUP reloads the configuration; SIGUSR1 \
            reopens events.jsonl after an external logrotate moved it; SIGTERM finishes \
            in-flight requests and exits 0.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Log format: auto (journald under systemd, else text), text, json, journal.")
    var logFormat: LogFormat = .auto

    @Option(help: "Seconds to let in-flight requests finish on SIGTERM/SIGINT.")
    var shutdownTimeout: Double = 10

    func run() throws {
        // Before any thread allocates. With an arena per thread, what the log writer frees
        // stays in its arena while intake grows another (make bench-scale measures the RSS
        // under load; docs/benchmarks.md).
        spp_use_one_malloc_arena()
        let environment = SecretResolver.processEnvironment()
        logFormat.bootstrap(level: logLevel, environment: environment)
        let logger = Logger(label: "spp-hookd")
        let listenFDs: [Int32]
        do {
            listenFDs = try SocketActivation.listeningSockets()
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        var loaded: ConfigLoader.Loaded
        do {
            loaded = try ConfigLoader.load(config)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        let descriptors = DescriptorLimit.raise()
        loaded.config = Self.fitConnections(loaded.config, descriptors: descriptors, logger: logger)
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])
        if let warning = loaded.exposureWarning { logger.warning("\(warning)") }
        signal(SIGPIPE, SIG_IGN)
        // Signal handling exists before the listener does, so a SIGTERM that arrives right
        // after start-up is never lost.
        let signals = StopSignals.install([SIGTERM, SIGINT, SIGHUP, SIGUSR1])
        let notifier = SystemdNotifier()
        let daemon: Daemon
        do {
            daemon = try Daemon.start(
                config: loaded.config, listenFDs: listenFDs, secrets: SecretResolver(environment: environment), logger: logger)
        } catch {
            printError("spp-hookd: \(error)")
            notifier.notify("STATUS=failed to start: \(error)")
            Self.reportLeftovers(after: "a failed start")
            throw ExitCode(1)
        }
        logger.notice("listening on \(daemon.addresses.joined(separator: ", "))", metadata: [
            "config": "\(loaded.source)",
            "endpoints": "\(loaded.config.endpoints.map(\.path).joined(separator: ","))",
            "socketActivated": "\(daemon.socketActivated)", "admin": "\(daemon.adminAddress ?? "off")",
            "tls": "\(loaded.config.tls == nil ? "off" : "on")",
        ])
        let reporter = StatusReporter(daemon: daemon, notifier: notifier, logger: logger)
        notifier.notify(Self.ready(daemon))
        reporter.start()
        serveSignals(signals, daemon: daemon, reporter: reporter, descriptors: descriptors, notifier: notifier, logger: logger)
        if !Self.reportLeftovers(after: "the stop") {
            // A thread that could not be stopped may be inside libjq, libcurl or OpenSSL:
            // the exit handlers (OPENSSL_cleanup among them) must not free what it uses.
            // quick_exit runs none of them; what it was delivering is sent again after a
            // restart, so the stop itself still succeeds.
            fflush(nil)
            quick_exit(0)
        }
    }

    /// Says which threads are still running once everything was told to stop and joined:
    /// none, unless a delivery (a jq program that never ends, a hung receiver) or the disk
    /// did not finish within the timeout. False when some are.
    @discardableResult
    static func reportLeftovers(after what: String) -> Bool {
        let left = ThreadCensus.others()
        guard !left.isEmpty else { return true }
        printError("spp-hookd: \(left.count) threads still running after \(what): \(left.joined(separator: ", "))")
        return false
    }

    /// The main thread's work once started: wait for signals (everything else runs on the
    /// daemon's own threads); SIGHUP reloads, SIGUSR1 reopens the log, the others stop the
    /// daemon and return.
    private func serveSignals(
        _ signals: StopSignals, daemon: Daemon, reporter: StatusReporter, descriptors: Int, notifier: SystemdNotifier, logger: Logger
    ) {
        while true {
            let sig = signals.wait()
            if sig == SIGHUP {
                Self.reload(daemon, configPath: config, descriptors: descriptors, notifier: notifier, logger: logger)
                continue
            }
            if sig == SIGUSR1 {
                logger.notice("SIGUSR1: reopening the event log")
                daemon.log.reopen()
                continue
            }
            logger.notice("stopping: finishing in-flight requests", metadata: ["signal": "\(sig)"])
            reporter.stop()
            notifier.notify("STOPPING=1\nSTATUS=stopping")
            daemon.stop(timeout: shutdownTimeout)
            logger.notice("stopped", metadata: ["lastSeq": "\(daemon.log.lastSeq)"])
            return
        }
    }

    /// Lowers `limits.maxConnections` to what the open-file limit leaves after the daemon's
    /// own descriptors, and says so: at the limit, the documented eviction and 503 then
    /// happen instead of accept failing with EMFILE (and /healthz staying reachable).
    static func fitConnections(_ config: DaemonConfig, descriptors: Int, logger: Logger) -> DaemonConfig {
        var config = config
        let fitted = config.connectionLimit(descriptors: descriptors)
        if fitted < config.limits.maxConnections {
            logger.warning("limits.maxConnections lowered to fit the open-file limit", metadata: [
                "configured": "\(config.limits.maxConnections)", "maxConnections": "\(fitted)", "openFileLimit": "\(descriptors)",
                "reserved": "\(config.descriptorReserve)",
            ])
            config.limits.maxConnections = fitted
        }
        return config
    }

    /// SIGHUP: re-read and validate; apply atomically, or keep the running config and say why.
    static func reload(
        _ daemon: Daemon, configPath: String?, descriptors: Int, notifier: some ServiceManagerNotifier, logger: Logger
    ) {
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(SystemdNotifier.monotonicMicroseconds())")
        do {
            let loaded = try ConfigLoader.load(configPath)
            let config = fitConnections(loaded.config, descriptors: descriptors, logger: logger)
            do {
                try daemon.reload(config, secrets: SecretResolver(environment: SecretResolver.processEnvironment()))
            } catch {
                throw ConfigLoader.Failure(description: "\(loaded.source): \(error)")
            }
            logger.notice("configuration reloaded", metadata: [
                "source": "\(loaded.source)", "endpoints": "\(loaded.config.endpoints.map(\.path).joined(separator: ","))",
            ])
        } catch {
            logger.error("reload failed; keeping the running configuration", metadata: ["reason": "\(error)"])
        }
        notifier.notify(ready(daemon))
    }

    /// READY=1 with the status line and where the daemon listens, in fields of our own
    /// (sd_notify(3): names not listed there are best prefixed with X_), so a supervisor or
    /// a test learns the ports it was given (`listen: 127.0.0.1:0`) from readiness itself.
    static func ready(_ daemon: Daemon) -> String {
        "READY=1\nSTATUS=\(daemon.statusLine)\nX_SPP_HOOKD_LISTEN=\(daemon.addresses.joined(separator: ","))"
            + "\nX_SPP_HOOKD_ADMIN=\(daemon.adminAddress ?? "off")"
    }
}
