// SPDX-License-Identifier: MIT
import CShims
import Glibc

/// One bounded run of a child process: stdin written from memory, stdout/stderr captured
/// (up to a limit, the rest drained), a deadline with SIGTERM then SIGKILL to its process
/// group. Blocking; runs on a sink's own thread.
enum ProcessRun {
    enum Status: Equatable {
        case exited(Int32)
        case signaled(Int32)
        case timedOut
    }

    struct Result {
        var status: Status
        var stdout: [UInt8]
        var stderr: [UInt8]
        var stdoutText: String { Self.text(stdout) }
        var stderrText: String { Self.text(stderr) }
        static func text(_ b: [UInt8]) -> String {
            String(decoding: b, as: UTF8.self).trimmingTrailingNewlines()
        }
    }

    static func run(
        _ argv: [String], environment: [String: String], input: [UInt8], timeout: Double, grace: Double, captureLimit: Int
    ) throws(IOError) -> Result {
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
        // Readable when the child exits, so its end wakes the loop at once (kernels before
        // 5.3 have no pidfd: the loop then looks every few milliseconds).
        let pidFD = spp_pidfd_open(pid)
        defer { if pidFD >= 0 { close(pidFD) } }

        var stdinFD: Int32 = input.isEmpty ? -1 : inPipe[1]
        if stdinFD < 0 { close(inPipe[1]) }
        var written = 0
        var out = Capture(limit: captureLimit), err = Capture(limit: captureLimit)
        var outFD = outPipe[0], errFD = errPipe[0]
        let deadline = monotonicSeconds() + timeout
        var status: Status?
        var killDeadline: Double?

        while true {
            if status == nil, let s = reap(pid, blocking: false) { status = s }
            if let status {
                // The program is done: take what is already in the pipes, then stop reading
                // (a child it left behind may hold them open) and end its group.
                out.drain(outFD)
                err.drain(errFD)
                kill(-pid, SIGTERM)
                closeAll([stdinFD, outFD, errFD])
                // Ended by our own SIGTERM at the deadline: that is a timeout.
                return Result(status: killDeadline == nil ? status : .timedOut, stdout: out.bytes, stderr: err.bytes)
            }
            let now = monotonicSeconds()
            if killDeadline == nil && now >= deadline {
                kill(-pid, SIGTERM)
                killDeadline = now + grace
            }
            if let k = killDeadline, now >= k {
                kill(-pid, SIGKILL)
                _ = reap(pid, blocking: true)
                out.drain(outFD)
                err.drain(errFD)
                closeAll([stdinFD, outFD, errFD])
                return Result(status: .timedOut, stdout: out.bytes, stderr: err.bytes)
            }
            var fds: [pollfd] = []
            if stdinFD >= 0 { fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0)) }
            if outFD >= 0 { fds.append(pollfd(fd: outFD, events: Int16(POLLIN), revents: 0)) }
            if errFD >= 0 { fds.append(pollfd(fd: errFD, events: Int16(POLLIN), revents: 0)) }
            if pidFD >= 0 { fds.append(pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), pidFD >= 0 ? 100 : 5)
            for p in fds where p.revents != 0 && p.fd != pidFD {
                if p.fd == stdinFD {
                    let n = input.withUnsafeBytes { write(stdinFD, $0.baseAddress! + written, $0.count - written) }
                    if n > 0 { written += n }
                    if written == input.count || (n < 0 && errno != EAGAIN && errno != EINTR) {
                        close(stdinFD)  // EOF for the program (or it stopped reading: EPIPE)
                        stdinFD = -1
                    }
                } else if p.fd == outFD {
                    if !out.read(outFD) { close(outFD); outFD = -1 }
                } else if p.fd == errFD {
                    if !err.read(errFD) { close(errFD); errFD = -1 }
                }
            }
        }
    }

    /// waitpid; nil while still running (non-blocking).
    static func reap(_ pid: pid_t, blocking: Bool) -> Status? {
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

    static func closeAll(_ fds: [Int32]) {
        for fd in fds where fd >= 0 { close(fd) }
    }

    struct Capture {
        let limit: Int
        var bytes: [UInt8] = []

        init(limit: Int) { self.limit = limit }

        /// Reads what is available; false at end of file or error.
        mutating func read(_ fd: Int32) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                if bytes.count < limit { bytes += buffer[0..<min(n, limit - bytes.count)] }
                return true
            }
            return n < 0 && (errno == EAGAIN || errno == EINTR)
        }

        mutating func drain(_ fd: Int32) {
            guard fd >= 0 else { return }
            var rounds = 0
            while rounds < 64 {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                if bytes.count < limit { bytes += buffer[0..<min(n, limit - bytes.count)] }
                rounds += 1
            }
        }
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s = s.dropLast() }
        return String(s)
    }
}
