// SPDX-License-Identifier: MIT
import ArgumentParser

@main
struct SPPHookd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spp-hookd",
        abstract: "Receives Service Provider Pro webhooks into a durable event log.",
        version: "0.1.0",
        subcommands: [
            Serve.self, CheckConfig.self, TailCommand.self, StatusCommand.self, SendTestCommand.self, ReplayCommand.self,
            DeadLettersCommand.self, APICommand.self, OrderMessagesCommand.self,
        ]
    )
}
