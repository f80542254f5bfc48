// SPDX-License-Identifier: MIT
public import ArgumentParser
import Dispatch
import Glibc
public import Logging
import SPPHookCore
import SPPHookServer

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
        signal(SIGPIPE, SIG_IGN)
        let daemon: Daemon
        do {
            daemon = try Daemon.start(
                config: loaded.config, secrets: SecretResolver(environment: SecretResolver.processEnvironment()),
                logger: logger)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        logger.notice("listening on \(daemon.address)", metadata: [
            "config": "\(loaded.source)",
            "endpoints": "\(loaded.config.endpoints.map(\.path).joined(separator: ","))",
        ])
        let timeout = shutdownTimeout
        var sources: [any DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                logger.notice("stopping: finishing in-flight requests", metadata: ["signal": "\(sig)"])
                daemon.stop(timeout: timeout)
                logger.notice("stopped", metadata: ["lastSeq": "\(daemon.log.lastSeq)"])
                Glibc.exit(0)
            }
            source.resume()
            sources.append(source)
        }
        withExtendedLifetime(sources) {
            dispatchMain()
        }
    }
}
