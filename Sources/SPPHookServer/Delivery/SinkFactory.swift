// SPDX-License-Identifier: MIT
import Glibc
public import Logging
public import SPPHookCore
public import SPPHookPOSIX

/// Builds a sink from its configuration: its secrets resolved, its TLS settings and jq
/// programs compiled. The daemon (``Fanout``), `replay`, `try-sink` and `check-config`
/// build sinks the same way; an error names the configuration key.
public enum SinkFactory {
    public struct SetupError: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) { self.description = description }
    }

    /// Builds one sink behind its jq programs; resolves its secrets (signing secret) and TLS
    /// settings, and compiles its programs (the error names the key: `sinks[2].where: jq: …`).
    public static func makeSink(
        _ config: SinkConfig, index: Int, api: APIConfig? = nil, environment: [String: String], hidden: Set<String> = [],
        instance: String = SinkFactory.hostName(), clock: any WallClock = SystemWallClock(), logger: Logger
    ) throws(SetupError) -> ProgramSink {
        let programs = try compilePrograms(config, index: index)
        let inner = try makeBaseSink(config, index: index, api: api, environment: environment, hidden: hidden, instance: instance,
            clock: clock, logger: logger)
        return ProgramSink(inner: inner, programs: programs)
    }

    /// Compiles a sink's `where` and `transform` (`check-config` and reload use it too).
    public static func compilePrograms(_ config: SinkConfig, index: Int) throws(SetupError) -> ProgramSink.Compiled {
        do {
            return try ProgramSink.Compiled(config, index: index)
        } catch {
            throw SetupError(description: "\(error)")
        }
    }

    private static func makeBaseSink(
        _ config: SinkConfig, index: Int, api: APIConfig?, environment: [String: String], hidden: Set<String>,
        instance: String, clock: any WallClock, logger: Logger
    ) throws(SetupError) -> any EventSink {
        let at = "sinks[\(index)]"
        func secret(_ ref: SecretReference, _ key: String) throws(SetupError) -> String {
            switch SecretResolver(environment: environment).resolve(ref) {
            case .success(let s): return s
            case .failure(let why): throw SetupError(description: "\(key): \(why)")
            }
        }
        switch config.kind {
        case .file(let path, let mode):
            return FileSink(name: config.name, path: path, mode: mode)
        case .shell(let command, let timeout, _):
            return ShellSink(name: config.name, command: command, timeout: timeout, environment: environment.filter { !hidden.contains($0.key) },
                logger: logger)
        case .forward(var options):
            if let ref = options.urlSecret {
                guard let url = HTTPURL(try secret(ref, "\(at).url")) else {
                    throw SetupError(description: "\(at).url: \(ref) does not hold an http:// or https:// URL")
                }
                options.url = url
            }
            let signing = try options.signingSecret.map { ref throws(SetupError) in try secret(ref, "\(at).signingSecret") }
            do {
                return try ForwardSink(name: config.name, options: options, signingSecret: signing, clock: clock, logger: logger)
            } catch {
                throw SetupError(description: "\(at): \(error)")
            }
        case .orderMessage(let message, let staffOnly, let userID):
            guard let api else { throw SetupError(description: "\(at): needs the \"api\" section") }
            let key = try secret(api.key, "api.key")
            do {
                let client = try SPPAPIClient(config: api, key: key, timeout: 30, maxAttempts: 1, logger: logger)
                return OrderMessageSink(name: config.name, client: client, template: message, staffOnly: staffOnly, userID: userID)
            } catch {
                throw SetupError(description: "\(at): \(error)")
            }
        case .postgres(let options):
            let conninfo = try secret(options.connection, "\(at).connection")
            do {
                return try PostgresSink(name: config.name, options: options, conninfo: conninfo, instance: instance, logger: logger)
            } catch {
                throw SetupError(description: "\(at).connection: \(error)")
            }
        }
    }

    /// This machine's host name: the default `instance`.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

}
