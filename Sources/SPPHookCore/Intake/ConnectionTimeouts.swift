// SPDX-License-Identifier: MIT
/// How long a connection may take over each phase; what slow clients (slowloris, slow
/// bodies, idle keep-alive floods) run into.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From the first byte of a request (or the connection's opening) to the end of its head.
    public var header: Double
    /// From the end of the head to the end of the body; also bounds sending a response.
    public var body: Double
    /// Between requests on a keep-alive connection.
    public var idle: Double
    /// After an error response: how long unread input is drained before closing, so the
    /// client sees the response instead of a reset.
    public var linger: Double

    public init(header: Double, body: Double, idle: Double, linger: Double = 2) {
        self.header = header
        self.body = body
        self.idle = idle
        self.linger = linger
    }

    public init(_ limits: DaemonConfig.Limits) {
        self.init(header: Double(limits.headerTimeoutSeconds), body: Double(limits.bodyTimeoutSeconds),
            idle: Double(limits.idleTimeoutSeconds))
    }
}
