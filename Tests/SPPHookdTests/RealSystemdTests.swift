// SPDX-License-Identifier: MIT
import Foundation
import Testing

/// The README's install, followed literally under a real systemd running as PID 1 (see
/// ``SystemdSandbox``): from `make install` and from the Debian package, then the service
/// as an operator meets it: webhooks over the network, status, journal, reload, the
/// watchdog, stop, socket activation, a shell hook with the README's drop-in, the tools.
@Suite("real systemd: the README's install and the Debian package")
struct RealSystemdTests {
    /// What the README's token line puts in /etc/spp-hookd/webhook-token.
    static let token = "the token SPP showed"
    static let root = DeployTests.root

    @Test func readmeMakeInstallRunsUnderRealSystemd() throws {
        let box = try SystemdSandbox.boot()
        for command in try SystemdSandbox.readmeCommands("make install") {
            try box.expectSuccess(command, in: Self.root, timeout: 600)
        }
        try Self.operate(box, doc: "/usr/local/share/doc/spp-hookd/shell-hooks.conf.example")
    }

    @Test func debianPackageInstallsRunsAndPurges() throws {
        let box = try SystemdSandbox.boot()
        let commands = try SystemdSandbox.readmeCommands("package")
        let tokenLine = try #require(commands.firstIndex { $0.contains("/etc/spp-hookd/webhook-token") })
        for command in commands[..<tokenLine] { try box.expectSuccess(command, in: Self.root, timeout: 600) }
        // Installed and enabled, but waiting for the token: skipped, not failed or looping.
        #expect(try box.run("systemctl is-enabled spp-hookd.service").output.contains("enabled"))
        let waiting = try box.run("systemctl show spp-hookd.service -p ActiveState -p ConditionResult -p NRestarts").output
        #expect(waiting.contains("ActiveState=inactive") && waiting.contains("ConditionResult=no") && waiting.contains("NRestarts=0"),
            "\(waiting)")
        try box.expectSuccess("dpkg -L spp-hookd | grep -qx /usr/share/man/man1/spp-hookd.1.gz && dpkg-query -W -f='${Conffiles}' spp-hookd | grep -q /etc/spp-hookd/config.json")
        for command in commands[tokenLine...] { try box.expectSuccess(command, in: Self.root) }
        try Self.operate(box, doc: "/usr/share/doc/spp-hookd/examples/shell-hooks.conf")

        let purge = try box.expectSuccess("apt-get purge -y spp-hookd 2>&1")
        #expect(purge.contains("kept the event log"), "\(purge)")
        try box.expectSuccess("""
            for p in /usr/bin/spp-hookd /lib/systemd/system/spp-hookd.service /lib/systemd/system/spp-hookd.socket \
                /etc/spp-hookd /etc/systemd/system/multi-user.target.wants/spp-hookd.service; do
                if [ -e "$p" ] || [ -L "$p" ]; then echo "left behind: $p"; exit 1; fi
            done
            ! systemctl cat spp-hookd.service >/dev/null 2>&1
            test -s /var/lib/private/spp-hookd/events.jsonl
            """)
    }

    // MARK: - The service as an operator meets it

    static func operate(_ box: SystemdSandbox, doc dropInExample: String) throws {
        try box.waitUntil("systemctl is-active -q spp-hookd.service", diagnose: "systemctl status spp-hookd --no-pager; journalctl -u spp-hookd --no-pager -n 30")
        let first = try post(box, id: "ORDER-1")
        #expect(first.contains("200") && first.contains("\"ok\":true"), "\(first)")
        let stored = try box.expectSuccess("cat /var/lib/spp-hookd/events.jsonl")
        #expect(stored.contains("ORDER-1") && !stored.contains(token), "\(stored)")
        try box.waitUntil("systemctl status spp-hookd --no-pager | grep -q 'stored 1,'", diagnose: "systemctl status spp-hookd --no-pager")

        // The README's operating commands, as root, from a directory with no config.
        var outputs: [String: String] = [:]
        for command in try SystemdSandbox.readmeCommands("operate") {
            outputs[command] = try box.expectSuccess(command, in: "/root")
        }
        let status = outputs.first { $0.key.hasPrefix("spp-hookd status") }?.value ?? ""
        #expect(status.contains("spp-hookd is running") && status.contains("config: /etc/spp-hookd/config.json")
            && status.contains("using /etc/spp-hookd/config.json"), "\(status)")
        let tail = outputs.first { $0.key.hasPrefix("spp-hookd tail") }?.value ?? ""
        #expect(tail.contains("ORDER-1"), "\(tail)")
        #expect(try box.expectSuccess("journalctl SPP_EVENT=order.created --no-pager -o cat").contains("stored"))
        let journal = try box.expectSuccess("journalctl -u spp-hookd --no-pager -o cat")
        #expect(!journal.contains("thread priority"), "libdispatch noise in the journal:\n\(journal)")
        #expect(!journal.contains("holds secrets inline"), "\(journal)")

        try reload(box)
        try shellHook(box, dropInExample: dropInExample)
        try watchdog(box)
        try stopAndSocketActivation(box)
    }

    /// Posts an order.created with the README's token over loopback; "<body>\n<status>".
    @discardableResult
    static func post(_ box: SystemdSandbox, id: String) throws -> String {
        let body = #"{"event":"order.created","created":1558608668,"token":"\#(token)","data":{"id":"\#(id)","status":"Pending"}}"#
        return try box.run("curl -s -m 30 -w '\\n%{http_code}' -H 'Content-Type: application/json' --data-binary '\(body)' http://127.0.0.1:8080/spp/main").output
    }

    /// A valid reload applies; a broken config is refused, the old one kept, the reason logged.
    static func reload(_ box: SystemdSandbox) throws {
        let pid = try box.expectSuccess("systemctl show -p MainPID --value spp-hookd")
        try box.expectSuccess("cp /etc/spp-hookd/config.json /root/config.good && echo '{\"listen\": ' > /etc/spp-hookd/config.json")
        try box.expectSuccess("systemctl reload spp-hookd")
        try box.waitUntil("journalctl -u spp-hookd -o cat | grep -q 'reload failed; keeping the running configuration'")
        #expect(try box.expectSuccess("systemctl is-active spp-hookd; systemctl show -p MainPID --value spp-hookd") == "active\n" + pid)
        #expect(try post(box, id: "ORDER-2").hasSuffix("200"))
        try box.expectSuccess("cp /root/config.good /etc/spp-hookd/config.json && systemctl reload spp-hookd")
        try box.waitUntil("[ $(journalctl -u spp-hookd -o cat | grep -c 'configuration reloaded') -ge 2 ]")
    }

    /// A shell sink whose hook writes outside the state directory, allowed by the README's drop-in.
    static func shellHook(_ box: SystemdSandbox, dropInExample: String) throws {
        // The example's own set-up line (`#   command`), as its reader runs it.
        let example = try box.expectSuccess("cat \(dropInExample)")
        let setup = try #require(example.split(separator: "\n").first { $0.hasPrefix("#   ") }).dropFirst(4)
        try box.expectSuccess(String(setup))
        try box.expectSuccess("""
            mkdir -p /usr/local/lib/spp-test
            printf '#!/bin/sh\\ncat >> /srv/spp-exports/orders.jsonl\\n' > /usr/local/lib/spp-test/export.sh
            chmod 0755 /usr/local/lib/spp-test/export.sh
            python3 - <<'EOF'
            import json
            p = "/etc/spp-hookd/config.json"
            c = json.load(open(p))
            c["sinks"] = [{"name": "export", "type": "shell", "command": ["/usr/local/lib/spp-test/export.sh"], "events": ["order.*"]}]
            json.dump(c, open(p, "w"))
            EOF
            mkdir -p /etc/systemd/system/spp-hookd.service.d
            cp \(dropInExample) /etc/systemd/system/spp-hookd.service.d/shell-hooks.conf
            systemctl daemon-reload && systemctl restart spp-hookd
            """)
        try box.waitUntil("systemctl is-active -q spp-hookd")
        #expect(try post(box, id: "ORDER-3").hasSuffix("200"))
        try box.waitUntil("grep -q ORDER-3 /srv/spp-exports/orders.jsonl 2>/dev/null",
            diagnose: "spp-hookd status; journalctl -u spp-hookd -n 20 --no-pager")
    }

    /// A daemon that stops answering (SIGSTOP) is restarted by systemd's watchdog.
    static func watchdog(_ box: SystemdSandbox) throws {
        try box.expectSuccess("""
            printf '[Service]\\nWatchdogSec=2\\nTimeoutAbortSec=2\\n' > /etc/systemd/system/spp-hookd.service.d/watchdog.conf
            systemctl daemon-reload && systemctl restart spp-hookd
            """)
        try box.waitUntil("systemctl is-active -q spp-hookd")
        let pid = try box.expectSuccess("systemctl show -p MainPID --value spp-hookd").trimmingCharacters(in: .whitespacesAndNewlines)
        try box.expectSuccess("kill -STOP \(pid)")
        try box.waitUntil("""
            [ "$(systemctl show -p MainPID --value spp-hookd)" != \(pid) ] && [ "$(systemctl show -p MainPID --value spp-hookd)" != 0 ] \
            && systemctl is-active -q spp-hookd
            """, seconds: 60, diagnose: "systemctl status spp-hookd --no-pager")
        #expect(try box.expectSuccess("journalctl -u spp-hookd -o cat").contains("Watchdog timeout"))
        #expect(try post(box, id: "ORDER-4").hasSuffix("200"))
        try box.expectSuccess("rm /etc/systemd/system/spp-hookd.service.d/watchdog.conf && systemctl daemon-reload")
    }

    /// `systemctl stop` ends with Result=success; with the socket enabled, the first webhook
    /// starts the stopped service and is answered 200.
    static func stopAndSocketActivation(_ box: SystemdSandbox) throws {
        try box.expectSuccess("systemctl stop spp-hookd.service")
        #expect(try box.expectSuccess("systemctl show -p Result --value spp-hookd.service") == "success\n")
        try box.expectSuccess("systemctl enable --now spp-hookd.socket")
        #expect(try box.run("systemctl is-active spp-hookd.service").output.hasPrefix("inactive"))
        let answer = try post(box, id: "ORDER-5")
        #expect(answer.hasSuffix("200"), "\(answer)")
        try box.waitUntil("systemctl is-active -q spp-hookd.service")
        // The start-up line says it took the sockets from systemd (the journal field, not its sentence).
        #expect(try box.expectSuccess("journalctl -u spp-hookd SPP_SOCKETACTIVATED=true -o cat | wc -l").trimmingCharacters(in: .whitespacesAndNewlines) != "0")
        try box.expectSuccess("systemctl stop spp-hookd.socket spp-hookd.service")
        #expect(try box.expectSuccess("systemctl show -p Result --value spp-hookd.service") == "success\n")
        let log = try box.expectSuccess("cat /var/lib/spp-hookd/events.jsonl")
        for id in ["ORDER-1", "ORDER-2", "ORDER-3", "ORDER-4", "ORDER-5"] { #expect(log.contains(id), "\(id) not stored") }
    }
}
