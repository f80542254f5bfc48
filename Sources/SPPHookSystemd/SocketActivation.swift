// SPDX-License-Identifier: MIT
internal import CSystemd
import SPPHookPOSIX
import Glibc

/// Listening sockets passed by systemd (`LISTEN_FDS`, `LISTEN_PID`), TCP or unix.
public enum SocketActivation {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The passed stream sockets, made non-blocking and close-on-exec; empty when none
    /// were passed. The environment is left alone (no `unsetenv` once threads exist);
    /// spawned processes get an explicit environment instead.
    public static func listeningSockets() throws(Failure) -> [Int32] {
        let n = sd_listen_fds(0)
        if n < 0 { throw Failure(description: "sd_listen_fds: \(String(cString: strerror(-n)))") }
        var fds: [Int32] = []
        for i in 0..<n {
            let fd = SD_LISTEN_FDS_START + i
            guard sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0 else {
                throw Failure(description: "passed file descriptor \(fd) is not a listening stream socket")
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            fds.append(fd)
        }
        return fds
    }
}
