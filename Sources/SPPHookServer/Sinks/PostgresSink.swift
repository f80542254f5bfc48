// SPDX-License-Identifier: MIT
public import Logging
public import SPPHookCore
import SPPHookPOSIX

/// Inserts events into a PostgreSQL table through libpq, a batch per INSERT statement (one
/// round trip and one transaction), `ON CONFLICT DO NOTHING`: the cursor moves only
/// after the statement committed, and an event delivered twice (a retry, a replay, a
/// second receiver) is in the table once.
///
/// The table is created when missing (``PostgresStatements/create(_:)``). A lost
/// connection is opened again on the next attempt; every error is retried with the sink's
/// back-off and dead-lettered after its attempts, except one about a single event's data
/// (SQLSTATE class 22, e.g. `\u0000` in a string, which jsonb refuses): the batch is then
/// tried event by event and only that event is dead-lettered, at once.
public final class PostgresSink: EventSink, @unchecked Sendable {
    // @unchecked: the connection is used only from `deliver`, and a postgres sink has one
    // delivery thread (concurrency 1), so the runner never calls it twice at once.
    public let name: String
    let options: SinkConfig.PostgresOptions
    let conninfo: String
    let instance: String
    let logger: Logger
    private var connection: PGConnection?
    private var schemaReady = false

    public struct SetupError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(name: String, options: SinkConfig.PostgresOptions, conninfo: String, instance: String, logger: Logger) throws(SetupError) {
        if let why = PGConnection.validate(conninfo) { throw SetupError(description: "not a libpq connection string: \(why)") }
        self.name = name
        self.options = options
        self.conninfo = conninfo
        self.instance = instance
        self.logger = logger
    }

    public var batchSize: Int { options.batchSize }

    public func deliver(_ events: [LoggedEvent]) -> [DeliveryOutcome] {
        let rows = events.map(row)
        do throws(PGConnection.Failure) {
            let c = try connected()
            try insert(rows, on: c)
            return events.map { _ in .delivered }
        } catch {
            if error.connectionLost { connection = nil }
            if let state = error.sqlstate, PostgresStatements.isDataError(state), events.count > 1, let c = connection {
                return rows.map { insertOne($0, on: c) }
            }
            if let state = error.sqlstate, PostgresStatements.isDataError(state), events.count == 1 { return [.permanent("\(error)")] }
            return events.map { _ in .retry("\(error)", after: nil) }  // one outcome per event, always
        }
    }

    private func insertOne(_ row: [[UInt8]?], on c: PGConnection) -> DeliveryOutcome {
        do throws(PGConnection.Failure) {
            try insert([row], on: c)
            return .delivered
        } catch {
            if error.connectionLost { connection = nil }
            return error.sqlstate.map(PostgresStatements.isDataError) == true ? .permanent("\(error)") : .retry("\(error)", after: nil)
        }
    }

    /// A full batch (the common case under load) and a single event run as prepared
    /// statements; other sizes as they come.
    private func insert(_ rows: [[[UInt8]?]], on c: PGConnection) throws(PGConnection.Failure) {
        let sql = rows.count == options.batchSize ? fullBatchSQL : PostgresStatements.insert(options.table, rows: rows.count)
        let parameters = rows.flatMap { $0 }
        if rows.count == options.batchSize || rows.count == 1 {
            try c.execute(prepared: "spp_hookd_insert_\(rows.count)", sql, parameters: parameters)
        } else {
            try c.execute(sql, parameters: parameters)
        }
    }

    private lazy var fullBatchSQL = PostgresStatements.insert(options.table, rows: options.batchSize)

    /// The open connection, with the table ready; connects (and creates the table) when needed.
    func connected() throws(PGConnection.Failure) -> PGConnection {
        if let c = connection, c.isOK, schemaReady { return c }
        connection = nil
        let c = try PGConnection(conninfo)
        try prepareTable(on: c)
        (connection, schemaReady) = (c, true)
        logger.info("connected to PostgreSQL", metadata: ["sink": "\(name)", "table": "\(options.table)", "server": "\(c.serverVersion)"])
        return c
    }

    /// Creates the table when missing and refuses one made by a newer spp-hookd. An existing
    /// table is left as it is, so a role that may only INSERT into it (the table owned by
    /// another) is enough.
    func prepareTable(on c: PGConnection) throws(PGConnection.Failure) {
        if try c.scalar(PostgresStatements.exists(options.table)) != "t" {
            try c.execute(PostgresStatements.create(options.table))
        }
        let comment = try c.scalar(PostgresStatements.version(options.table))
        if let v = comment.flatMap(PostgresStatements.parseVersion), v > PostgresStatements.schemaVersion {
            throw PGConnection.Failure(
                message: "table \(options.table) has schema \(v), newer than this spp-hookd's \(PostgresStatements.schemaVersion)",
                sqlstate: nil, connectionLost: false)
        }
    }

    /// The INSERT parameters of one event, in ``PostgresStatements/columns`` order. The
    /// payload is the stored line's own `payload` bytes (or the transform's output).
    func row(_ e: LoggedEvent) -> [[UInt8]?] {
        let (created, payload) = Self.createdAndPayload(e.line)
        return [
            Array(e.head.id.utf8), Array(String(e.seq).utf8), Array(instance.utf8), Array(e.head.endpoint.utf8),
            Array(e.head.category.utf8), Array(e.head.event.utf8), created, Array(e.head.receivedAt.rfc3339.utf8),
            e.body ?? payload,
        ]
    }

    /// `created` (nil for null) and the `payload` object of a stored line, found by position:
    /// they are its last two members, after the prefix ``EventLogLine`` reads. `,"created":`
    /// cannot occur inside an earlier string value (its quotes would be escaped there).
    public static func createdAndPayload(_ line: [UInt8]) -> (created: [UInt8]?, payload: [UInt8]) {
        guard let k = find(createdKey, in: line, from: 0), let p = find(payloadKey, in: line, from: k.upperBound),
            line.last == UInt8(ascii: "}")
        else { return (nil, Array("{}".utf8)) }
        let created = Array(line[k.upperBound..<p.lowerBound])
        return (created == Array("null".utf8) ? nil : created, Array(line[p.upperBound..<(line.endIndex - 1)]))
    }

    private static let createdKey = Array(#","created":"#.utf8), payloadKey = Array(#","payload":"#.utf8)

    /// The first place `needle` occurs in `bytes` at or after `start` (a plain loop: the
    /// generic `firstRange(of:)` costs more than the rest of a row).
    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Range<Int>? {
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var i = start
        while i <= bytes.count - needle.count {
            if bytes[i] == first {
                var k = 1
                while k < needle.count && bytes[i + k] == needle[k] { k += 1 }
                if k == needle.count { return i..<(i + needle.count) }
            }
            i += 1
        }
        return nil
    }

    /// What `check-config --test-connection` prints: connects, prepares the table, and
    /// checks that this user may insert into it.
    public func testConnection() -> Result<String, SetupError> {
        do throws(PGConnection.Failure) {
            let c = try PGConnection(conninfo)
            try prepareTable(on: c)
            let user = try c.scalar("SELECT current_user") ?? "?"
            let insert = try c.scalar("SELECT has_table_privilege(\(PostgresStatements.literalTable(options.table)), 'INSERT')")
            guard insert == "t" else {
                return .failure(SetupError(description: "user \(user) may not INSERT into \(options.table)"))
            }
            return .success("connected to PostgreSQL \(c.serverVersion / 10000) as \(user); table \(options.table) ready, INSERT allowed")
        } catch {
            return .failure(SetupError(description: "\(error)"))
        }
    }
}
