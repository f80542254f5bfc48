// SPDX-License-Identifier: MIT
import Glibc

/// Wakes a reader when a directory's files change (inotify): something was written, a file
/// was created or renamed in. `tail -f` and a reader that met a rotation's gap wait on it
/// instead of sleeping; without inotify (limits reached) `wait` is just a timed wait.
public final class DirectoryWatch {
    private let fd: Int32

    public init(_ directory: String) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        if fd >= 0 {
            let mask = UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ATTRIB)
            _ = inotify_add_watch(fd, directory, mask)
        }
        self.fd = fd
    }

    deinit {
        if fd >= 0 { close(fd) }
    }

    /// Returns once something changed in the directory since the last wait, or after
    /// `seconds`.
    public func wait(seconds: Double) {
        let ms = Int32(max(0, min(seconds, 3600)) * 1000)
        guard fd >= 0 else {
            var p = pollfd()
            _ = poll(&p, 0, ms)
            return
        }
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, ms) > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) > 0 {}
    }
}
