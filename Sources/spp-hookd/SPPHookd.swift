// SPDX-License-Identifier: MIT
import SPPHookPOSIX
import ArgumentParser
import Glibc

@main
struct SPPHookd: ParsableCommand {
    /// A hook that exits without reading its stdin must not kill the tool that feeds it
    /// (replay, dead-letters retry): writes then fail with EPIPE, reported per event.
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "spp-hookd",
        abstract: "Receives Service Provider Pro webhooks into a durable event log.",
        version: "0.1.0",
        subcommands: [
            Serve.self, CheckConfig.self, TailCommand.self, StatusCommand.self, SendTestCommand.self, ReplayCommand.self,
            DeadLettersCommand.self, APICommand.self, OrderMessagesCommand.self, TrySinkCommand.self,
        ]
    )
}
