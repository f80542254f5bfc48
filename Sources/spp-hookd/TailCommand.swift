// SPDX-License-Identifier: MIT
import ArgumentParser
import Glibc
import SPPHookCore
import SPPHookPOSIX
import SPPHookServer

struct TailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Show the latest events; with -f, keep following the log (across rotations).",
        discussion: """
            On a terminal, one aligned line per event: time (UTC), seq, category, event and key \
            fields (order or invoice id, client email, status, total), in colour unless NO_COLOR \
            is set. With --json, or when the output is a pipe, the raw JSON lines, for jq. \
            Filters combine: every given filter must match.
            """
    )

    @Option(name: .shortAndLong, help: "The configuration file (for dataDir).") var config: String?
    @Option(help: "The data directory (instead of the config's dataDir).") var dataDir: String?
    @Flag(name: .shortAndLong, help: "Keep printing events as they arrive.") var follow = false
    @Option(name: .short, help: "How many of the latest matching events to show first.") var n: Int = 10
    @Option(help: "Only this category (orders, forms, accounts, invoices, messages, subscriptions, tickets, other); repeatable.")
    var category: [String] = []
    @Option(help: "Only events whose name matches this glob, e.g. 'order.*'; repeatable.") var event: [String] = []
    @Option(help: "Only events received at this endpoint (by name); repeatable.") var endpoint: [String] = []
    @Flag(help: "Print the raw JSON lines.") var json = false

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must be 0 or more") }
        for c in category where EventCategory(rawValue: c) == nil {
            throw ValidationError("--category: unknown category \"\(c)\" (one of \(EventCategory.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
    }

    func run() throws {
        let dir = try dataDir ?? loadOrExit(config).config.dataDir
        guard fileExists(dir) else {
            printError("spp-hookd: tail: no data directory at \(dir) (has the daemon run with this config?)")
            throw ExitCode(1)
        }
        let raw = json || isatty(1) != 1
        let color = !raw && getenv("NO_COLOR") == nil
        let categories = Set(category), events = event, endpoints = Set(endpoint)
        let keep: ([UInt8]) -> Bool = { line in
            guard let head = EventLogLine(line[...]) else { return categories.isEmpty && events.isEmpty && endpoints.isEmpty }
            if !categories.isEmpty && !categories.contains(head.category) { return false }
            if !endpoints.isEmpty && !endpoints.contains(head.endpoint) { return false }
            if !events.isEmpty && !events.contains(where: { fnmatch($0, head.event, 0) == 0 }) { return false }
            return true
        }
        let show: ([UInt8]) -> Void = { line in
            if raw {
                print(String(decoding: line, as: UTF8.self))
            } else {
                print(EventSummary.line(line, color: color))
            }
        }
        var follower = LogFollower(dataDir: dir)
        for line in follower.last(n, where: keep) { show(line) }
        for damage in follower.takeDamage() { printError("spp-hookd: \(damage)") }
        fflush(nil)
        guard follow else { return }
        // Woken by the log's writes (and rotations); the timeout is a fallback for a
        // machine out of inotify watches.
        let watch = DirectoryWatch(dir)
        while true {
            let lines = follower.poll()
            for damage in follower.takeDamage() { printError("spp-hookd: \(damage)") }
            for line in lines where keep(line) { show(line) }
            if lines.isEmpty { watch.wait(seconds: 1) } else { fflush(nil) }
        }
    }
}
