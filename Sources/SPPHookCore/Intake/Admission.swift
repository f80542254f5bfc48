// SPDX-License-Identifier: MIT

/// Whether the listener serves a connection it just accepted, and what an accept error
/// means. At the connection limit the keep-alive connection idle the longest is closed to
/// make room; when none is idle the newcomer gets ``overloaded`` and is closed: a flood
/// costs one accept and one write, never a hang.
public enum Admission<Candidate>: Sendable where Candidate: Sendable {
    case admit
    /// Admit it, and close this idle connection first.
    case evict(Candidate)
    /// Answer ``Admission/overloaded`` (plain HTTP only: to a TLS client it is garbage) and close it.
    case refuse

    /// `open` connections against `limit`; `idle` are the connections idle between
    /// requests (and not being closed already), with the monotonic time they became idle.
    public static func decide(open: Int, limit: Int, idle: some Sequence<(Candidate, since: Int64)>) -> Admission {
        guard open >= limit else { return .admit }
        var best: (Candidate, since: Int64)?
        for c in idle where c.since < (best?.since ?? .max) { best = c }
        return best.map { .evict($0.0) } ?? .refuse
    }
}

/// What an accept error calls for.
public enum AcceptFailure: Equatable, Sendable {
    /// The connection went away before it was taken (ECONNABORTED, EPROTO) or a firewall
    /// refused it (EPERM): take the next one.
    case skip
    /// Out of descriptors or buffers (EMFILE, ENFILE, ENOBUFS, ENOMEM, anything else): stop
    /// watching the listener for `seconds` instead of spinning on it while it stays readable.
    case pause(seconds: Double)

    /// `errno` values as Linux numbers them (the core imports no C library).
    public init(errno: Int32) {
        switch errno {
        case 103, 71, 1: self = .skip  // ECONNABORTED, EPROTO, EPERM
        default: self = .pause(seconds: 0.1)
        }
    }
}

extension HTTPResponse {
    /// The answer to a connection over the limit when no idle one can make room.
    public static let overloaded = HTTPResponse.error(503, "too many connections", headers: [("Retry-After", "1")])
}
