// SPDX-License-Identifier: MIT
package import CShims
import Glibc

/// One bounded run of a child process: stdin written from memory, stdout/stderr captured
/// (up to a limit, the rest drained), a deadline with SIGTERM then SIGKILL to its process
/// group. Blocking; runs on a sink's own thread.
package enum ProcessRun {
    package enum Status: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
    }

    package struct Result {
        package var status: Status
        package var stdout: [UInt8]
        package var stderr: [UInt8]
        package var stdoutText: String { Self.text(stdout) }
        package var stderrText: String { Self.text(stderr) }
        package static func text(_ b: [UInt8]) -> String {
            String(decoding: b, as: UTF8.self).trimmingTrailingNewlines()
        }
    }

    package static func run(
        _ argv: [String], environment: [String: String], input: [UInt8], timeout: Double, grace: Double, captureLimit: Int
    ) throws(IOError) -> Result {
        var child = try spawn(argv, environment: environment, input: input, captureLimit: captureLimit)
        // Readable when the child exits, so its end wakes the loop at once (kernels before
        // 5.3 have no pidfd: the loop then looks every few milliseconds).
        let pidFD = spp_pidfd_open(child.pid)
        defer { if pidFD >= 0 { close(pidFD) } }
        let deadline = monotonicSeconds() + timeout
        var killDeadline: Double?
        while true {
            if let status = reap(child.pid, blocking: false) {
                // The program is done: take what is already in the pipes, then stop reading
                // (a child it left behind may hold them open) and end its group.
                // Ended by our own SIGTERM at the deadline: that is a timeout.
                let result = child.finish(killDeadline == nil ? status : .timedOut)
                kill(-child.pid, SIGTERM)
                return result
            }
            let now = monotonicSeconds()
            if killDeadline == nil && now >= deadline {
                kill(-child.pid, SIGTERM)
                killDeadline = now + grace
            }
            if let k = killDeadline, now >= k {
                kill(-child.pid, SIGKILL)
                _ = reap(child.pid, blocking: true)
                return child.finish(.timedOut)
            }
            child.pump(input, pidFD: pidFD)
        }
    }

    /// A running program and our ends of its pipes (-1 once closed).
    private struct Child {
        package let pid: pid_t
        package var stdinFD: Int32
        package var outFD: Int32
        package var errFD: Int32
        package var written = 0
        package var out: Capture
        package var err: Capture

        /// Waits up to a poll interval, then feeds stdin and reads stdout and stderr.
        package mutating func pump(_ input: [UInt8], pidFD: Int32) {
            var fds: [pollfd] = []
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if pidFD >= 0 { fds.append(pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), pidFD >= 0 ? 100 : 5)
            for p in fds where p.revents != 0 && p.fd != pidFD {
                if p.fd == stdinFD {
                    feed(input)
                } else if p.fd == outFD {
                    if !out.read(outFD) { close(outFD); outFD = -1 }
                } else if p.fd == errFD {
                    if !err.read(errFD) { close(errFD); errFD = -1 }
                }
            }
        }

        /// Writes what the pipe takes of `input`; closes stdin at its end, or when the
        /// program stopped reading (EPIPE).
        private mutating func feed(_ input: [UInt8]) {
            let fd = stdinFD, offset = written
            do {
                // nil: the pipe is full (EAGAIN).
                let n = try syscall(wouldBlockIsNil: true, "write(stdin)") {
                    // `written < input.count` while stdin is open, so the base address exists.
                    input.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                }
                written += n ?? 0
                if written < input.count { return }
            } catch {
                // It stopped reading: what is left is not for it.
            }
            close(stdinFD)  // EOF for the program
            stdinFD = -1
        }

        /// Takes what is left in the pipes and closes them.
        package mutating func finish(_ status: Status) -> Result {
            out.drain(outFD)
            err.drain(errFD)
            closeAll([stdinFD, outFD, errFD])
            return Result(status: status, stdout: out.bytes, stderr: err.bytes)
        }
    }

    /// Starts `argv` in a session of its own with fresh pipes for stdin, stdout and stderr
    /// (stdin closed at once when `input` is empty); our ends are non-blocking.
    private static func spawn(
        _ argv: [String], environment: [String: String], input: [UInt8], captureLimit: Int
    ) throws(IOError) -> Child {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard spp_pipe_cloexec(&inPipe) == 0 else { throw IOError(errno: errno, function: "pipe2") }
        guard spp_pipe_cloexec(&outPipe) == 0 else {
            closeAll(inPipe)
            throw IOError(errno: errno, function: "pipe2")
        }
        guard spp_pipe_cloexec(&errPipe) == 0 else {
            closeAll(inPipe + outPipe)
            throw IOError(errno: errno, function: "pipe2")
        }
        var pid: pid_t = 0
        let rc = withCStrings(argv) { args in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }) { env in
                spp_spawn(args, env, inPipe[0], outPipe[1], errPipe[1], &pid)
            }
        }
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            closeAll([inPipe[1], outPipe[0], errPipe[0]])
            throw IOError(errno: rc, function: "posix_spawn(\(argv[0]))")
        }
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        if input.isEmpty { close(inPipe[1]) }
        return Child(pid: pid, stdinFD: input.isEmpty ? -1 : inPipe[1], outFD: outPipe[0], errFD: errPipe[0],
            out: Capture(limit: captureLimit), err: Capture(limit: captureLimit))
    }

    /// waitpid; nil while still running (non-blocking).
    package static func reap(_ pid: pid_t, blocking: Bool) -> Status? {
        var st: Int32 = 0
        while true {
            let r = waitpid(pid, &st, blocking ? 0 : WNOHANG)
            if r == 0 { return nil }
            if r < 0 {
                if errno == EINTR { continue }
                return .exited(-1)
            }
            let sig = st & 0x7F
            return sig == 0 ? .exited((st >> 8) & 0xFF) : .signaled(sig)
        }
    }

    package static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }

    package struct Capture {
        package let limit: Int
        package var bytes: [UInt8] = []

        package init(limit: Int) { self.limit = limit }

        /// Reads what is available; false at end of file or error.
        package mutating func read(_ fd: Int32) -> Bool {
            do {
                guard let n = try take(fd) else { return true }  // nothing yet (EAGAIN)
                return n > 0
            } catch {
                return false
            }
        }

        package mutating func drain(_ fd: Int32) {
            guard fd >= 0 else { return }
            var rounds = 0
            // Until it is empty (EAGAIN), at its end, or failed.
            while rounds < 64, let n = try? take(fd), n > 0 {
                rounds += 1
            }
        }

        /// One read of up to 4 KiB, kept up to `limit`: the bytes read (0 at end of file),
        /// or nil when nothing is there yet (EAGAIN).
        private mutating func take(_ fd: Int32) throws(IOError) -> Int? {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = try syscall(wouldBlockIsNil: true, "read(pipe)") { buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) } }
            if let n, bytes.count < limit { bytes += buffer[0..<min(n, limit - bytes.count)] }
            return n
        }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
package func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    // Never empty (the nil terminator), so the base address exists.
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension String {
    package func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
