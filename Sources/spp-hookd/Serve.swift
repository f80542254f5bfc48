// SPDX-License-Identifier: MIT
public import ArgumentParser
import Dispatch
import CShims
import Glibc
public import Logging
import SPPHookCore
import SPPHookServer
import Synchronization

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the webhook receiver.",
        discussion: """
            Without --config, uses config.example.json from the working directory when present, \
            else the same file embedded in the binary (loopback only).
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Seconds to let in-flight requests finish on SIGTERM/SIGINT.")
    var shutdownTimeout: Double = 10

    func run() throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "spp-hookd")
        let loaded: ConfigLoader.Loaded
        do {
            loaded = try ConfigLoader.load(config)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        logger.info("configuration loaded", metadata: ["source": "\(loaded.source)"])
        signal(SIGPIPE, SIG_IGN)
        // The stop-signal handler exists before the listener does, so a SIGTERM that
        // arrives right after start-up is never lost.
        let stopSignals = StopSignals.install([SIGTERM, SIGINT])
        let running = DaemonBox()
        let timeout = shutdownTimeout
        Thread.detach {
            let sig = stopSignals.wait()
            guard let daemon = running.daemon else { _exit(0) }
            logger.notice("stopping: finishing in-flight requests", metadata: ["signal": "\(sig)"])
            daemon.stop(timeout: timeout)
            logger.notice("stopped", metadata: ["lastSeq": "\(daemon.log.lastSeq)"])
            _exit(0)
        }
        let daemon: Daemon
        do {
            daemon = try Daemon.start(
                config: loaded.config, secrets: SecretResolver(environment: SecretResolver.processEnvironment()),
                logger: logger)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        running.daemon = daemon
        logger.notice("listening on \(daemon.address)", metadata: [
            "config": "\(loaded.source)",
            "endpoints": "\(loaded.config.endpoints.map(\.path).joined(separator: ","))",
        ])
        dispatchMain()
    }
}

/// The running daemon, once there is one, for the signal handlers.
final class DaemonBox: Sendable {
    private let storage = Mutex<Daemon?>(nil)
    var daemon: Daemon? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
