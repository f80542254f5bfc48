// SPDX-License-Identifier: MIT

extension DaemonConfig {
    /// Descriptors kept for everything but client connections: the log and the segments
    /// sinks read, listeners, the admin listener and its clients, epoll and wake-up
    /// descriptors, and per sink its cursor, files, sockets and a hook's pipes.
    public var descriptorReserve: Int { 160 + 16 * sinks.count }

    /// `limits.maxConnections`, lowered so that connections can never use the descriptors the
    /// rest of the daemon needs (with `descriptors` the process may open).
    public func connectionLimit(descriptors: Int) -> Int {
        max(1, min(limits.maxConnections, descriptors - descriptorReserve))
    }
}
