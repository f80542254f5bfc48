// SPDX-License-Identifier: MIT
import Foundation
import Glibc

/// A loopback port that refuses connections for as long as the returned socket stays open:
/// bound, never listening, so no other process can take the port meanwhile.
func refusingPort() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw DaemonError(message: "socket: \(String(cString: strerror(errno)))") }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    guard bound == 0 else {
        close(fd)
        throw DaemonError(message: "bind: \(String(cString: strerror(errno)))")
    }
    return (fd, UInt16(bigEndian: addr.sin_port))
}

/// A loopback TCP port that was free a moment ago, for a program that must bind it itself
/// (systemd-socket-activate). Racy by nature: prefer port 0 or ``refusingPort()``.
func freePort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return UInt16(bigEndian: addr.sin_port)
}

/// Starts a server that binds the port its configuration names (`configure` writes that
/// configuration for a port and returns the arguments), on a port free a moment ago, and
/// tries another if someone took it meanwhile. Returns once the port accepts connections.
func launchOnFreePort(_ executable: String, configure: (UInt16, Int) throws -> [String]) throws -> (Process, UInt16) {
    for attempt in 0..<5 {
        let port = try freePort()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = try configure(port, attempt)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        try waitFor(10) { !p.isRunning || (try? RawHTTPClient(port: port)) != nil }
        if p.isRunning { return (p, port) }
    }
    throw DaemonError(message: "\(executable) did not start")
}
