// SPDX-License-Identifier: MIT
import ArgumentParser
import Glibc
import Logging
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file (and that its secrets resolve) without starting."
    )

    @Argument(help: "The configuration file.")
    var file: String

    @Flag(help: "Also connect to each postgres sink's database and check its table (created if missing) takes inserts.")
    var testConnection = false

    func run() throws {
        let loaded: ConfigLoader.Loaded
        do {
            loaded = try ConfigLoader.load(file)
        } catch {
            printError("spp-hookd: \(error)")
            throw ExitCode(1)
        }
        var failedConnection: String?
        var logger = Logger(label: "spp-hookd")
        logger.logLevel = .warning
        let environment = SecretResolver.processEnvironment()
        do {
            _ = try Daemon.resolveEndpoints(loaded.config, secrets: SecretResolver(environment: environment), logger: logger)
            // Builds each sink as `serve` would (without starting it): its secrets resolve, its
            // CA file loads, its jq programs compile.
            for (i, sink) in loaded.config.sinks.enumerated() {
                let built = try SinkFactory.makeSink(sink, index: i, api: loaded.config.api, environment: environment, logger: logger)
                guard testConnection, let db = built.inner as? PostgresSink else { continue }
                switch db.testConnection() {
                case .success(let what): print("sinks[\(i)] (\(sink.name)): \(what)")
                case .failure(let why): failedConnection = "sinks[\(i)] (\(sink.name)): \(why)"
                }
            }
        } catch {
            printError("spp-hookd: \(file): \(error)")
            throw ExitCode(1)
        }
        if let failedConnection {
            printError("spp-hookd: \(file): \(failedConnection)")
            throw ExitCode(1)
        }
        let c = loaded.config
        print("\(file): OK (listen \(c.listen), \(c.endpoints.count) endpoint(s): \(c.endpoints.map(\.path).joined(separator: ", ")), dataDir \(c.dataDir))")
    }
}

/// Writes one line to standard error (unbuffered, no shared FILE*).
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
