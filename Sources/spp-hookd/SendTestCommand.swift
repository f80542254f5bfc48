// SPDX-License-Identifier: MIT
import ArgumentParser
import Glibc
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct SendTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-test",
        abstract: "POST a realistic SPP webhook to a running daemon, like SPP's Test webhook button.",
        discussion: """
            The URL defaults to the config's listen address and endpoint path; the token to the \
            endpoint's first token that resolves (env:, file:, credential: or inline). Exits 0 when \
            the daemon answered 2xx. --list shows the events with sample payloads.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file.") var config: String?
    @Option(help: "The event to send, e.g. invoice.paid.") var event: String?
    @Option(help: "The endpoint (by name) in the config; default: the first.") var endpoint: String?
    @Option(help: "Post here instead, e.g. http://127.0.0.1:8080/spp/main.") var url: String?
    @Option(help: "The token to put in the body (default: the endpoint's, from the config).") var token: String?
    @Option(help: "CA certificates (PEM) to verify an https:// URL with, instead of the system's.") var caFile: String?
    @Flag(help: "List the events that have sample payloads.") var list = false

    func run() throws {
        if list {
            for s in SampleEvents.all {
                let category = EventClassifier().classify(s.event).rawValue
                print("\(s.event.padded(24)) \(category.padded(14)) \(s.confirmed ? "confirmed by SPP" : "name not confirmed")")
            }
            return
        }
        guard let event else { throw ValidationError("--event is required (see --list)") }
        guard let sample = SampleEvents.sample(for: event) else {
            throw ValidationError("no sample for \"\(event)\"; known: \(SampleEvents.all.map(\.event).joined(separator: ", "))")
        }
        var target = url.flatMap(HTTPURL.init)
        if url != nil && target == nil { throw ValidationError("--url: not an http(s) URL: \(url!)") }
        var secret = token
        if target == nil || secret == nil {
            let c = try loadOrExit(config).config
            guard let e = endpoint.map({ name in c.endpoints.first { $0.name == name } }) ?? c.endpoints.first else {
                throw ValidationError("--endpoint: no endpoint named \"\(endpoint ?? "")\" in the config")
            }
            if target == nil {
                var host = c.listen.host
                if host == "0.0.0.0" { host = "127.0.0.1" }
                if host == "::" { host = "::1" }
                let authority = DaemonConfig.ListenAddress(host: host, port: c.listen.port).description
                target = HTTPURL("\(c.tls == nil ? "http" : "https")://\(authority)\(e.path)")
            }
            if secret == nil {
                let resolver = SecretResolver(environment: SecretResolver.processEnvironment())
                secret = e.tokens.lazy.compactMap { try? resolver.resolve($0).get() }.first
                guard secret != nil else { throw ValidationError("endpoint \(e.name): no token resolves; pass --token") }
            }
        }
        guard let target, let secret else { return }
        let body = SampleEvents.envelope(sample, created: Int64(time(nil)), token: secret)
        let response: HTTPClient.Response
        do {
            let client = HTTPClient(options: HTTPClient.Options(timeoutSeconds: 10, caFile: caFile), maxIdle: 0)
            response = try client.send(.postJSON(target, body: body))
        } catch {
            printError("spp-hookd: send-test: \(target.description): \(error)")
            throw ExitCode(1)
        }
        let answer = String(decoding: response.body, as: UTF8.self).trimmingSuffix { $0 == "\n" }
        print("\(sample.event) → \(target.description): \(response.status) \(answer)")
        if !(200..<300).contains(response.status) { throw ExitCode(1) }
    }
}

extension String {
    func trimmingSuffix(while drop: (Character) -> Bool) -> String {
        var s = Substring(self)
        while let last = s.last, drop(last) { s = s.dropLast() }
        return String(s)
    }
}
