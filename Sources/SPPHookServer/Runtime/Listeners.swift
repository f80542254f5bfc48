// SPDX-License-Identifier: MIT
import Glibc
public import SPPHookCore
import SPPHookPOSIX

/// The daemon's listening sockets, bound before anything else starts: a taken port fails
/// start-up while there is nothing to stop yet.
struct Listeners {
    /// The webhook listeners: systemd's (socket activation) or the one bound for `listen`.
    let intake: [Int32]
    let admin: Int32?
    /// True when systemd passed the intake listeners.
    let activated: Bool

    static func bind(_ config: DaemonConfig, passed: [Int32]) throws(Daemon.StartError) -> Listeners {
        var admin: Int32?
        if let settings = config.admin {
            do {
                admin = try Socket.listen(on: settings.listen)
            } catch {
                throw .listen(key: "admin.listen", address: "\(settings.listen)", error)
            }
        }
        guard passed.isEmpty else { return Listeners(intake: passed, admin: admin, activated: true) }
        do {
            return Listeners(intake: [try Socket.listen(on: config.listen)], admin: admin, activated: false)
        } catch {
            if let admin { Glibc.close(admin) }
            throw .listen(key: "listen", address: "\(config.listen)", error)
        }
    }

    /// Closes the sockets this process bound (systemd's stay with systemd).
    func close() {
        if let admin { Glibc.close(admin) }
        if !activated { for fd in intake { Glibc.close(fd) } }
    }
}
