// SPDX-License-Identifier: MIT
import ArgumentParser
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct DeadLettersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Show or retry events that sinks gave up on.",
        subcommands: [List.self, Retry.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters (all sinks, or one).")
        @Option(name: .shortAndLong, help: "The configuration file.") var config: String?
        @Option(help: "Only this sink.") var sink: String?
        @Flag(help: "Print the stored JSON lines.") var json = false

        func run() throws {
            let loaded = try loadOrExit(config)
            let sinks = try sink.map { [try findSink($0, in: loaded.config)] } ?? loaded.config.sinks
            var total = 0, unreadable = 0
            for s in sinks {
                let (lines, damaged) = DeadLetters(dataDir: loaded.config.dataDir, sink: s.name).list()
                for d in damaged { printError("spp-hookd: \(d)") }
                for line in lines {
                    total += 1
                    if json {
                        print(String(decoding: line, as: UTF8.self))
                        continue
                    }
                    guard case .object(let o)? = try? JSONParser.parse(line, maxDepth: JSONParser.storedMaxDepth) else {
                        // Kept, never dropped: shown (defused) so the operator sees it.
                        unreadable += 1
                        print("\(s.name)\tunreadable line: \(DisplayText.sanitized(String(decoding: line.prefix(200), as: UTF8.self)))")
                        continue
                    }
                    func field(_ k: String) -> String {
                        switch o[k] {
                        case .string(let v)?: DisplayText.sanitized(v)
                        case .number(let v)?: v
                        default: "-"
                        }
                    }
                    print("\(s.name)\tseq \(field("seq"))\t\(field("event"))\t\(field("attempts")) attempt(s)\t\(field("failedAt"))\t\(field("lastError"))")
                }
            }
            if !json { print("\(total) dead letter(s)" + (unreadable > 0 ? ", \(unreadable) of them unreadable" : "")) }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deliver a sink's dead letters again; what fails stays dead-lettered.")
        @Option(name: .shortAndLong, help: "The configuration file.") var config: String?
        @Option(help: "The sink.") var sink: String

        func run() throws {
            let loaded = try loadOrExit(config)
            try replay(loaded.config, try findSink(sink, in: loaded.config), selection: Replay.Selection(), deadLetters: true)
        }
    }
}
