// SPDX-License-Identifier: MIT
import CLibPQ
import Glibc
import SPPHookCore
import SPPHookPOSIX

/// One libpq connection (blocking), used by one sink thread at a time. libpq's messages
/// can quote the connection string; every message leaving here has the password (and
/// anything quoted from a connection string that did not parse) taken out.
final class PGConnection {
    /// A failed statement or connection: libpq's message (redacted) and the SQLSTATE.
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var sqlstate: String?
        /// The connection is gone (server restart, dropped network): connect again.
        var connectionLost: Bool
        var description: String { "postgres: \(message)" + (sqlstate.map { " (SQLSTATE \($0))" } ?? "") }
    }

    private let conn: OpaquePointer
    private let redact: Redaction

    /// Connects with our defaults (a 10 s connect timeout, TCP keepalives and a 30 s TCP
    /// user timeout, so a dead server is noticed; application_name spp-hookd); anything in
    /// `conninfo` overrides them.
    init(_ conninfo: String) throws(Failure) {
        redact = Redaction(conninfo)
        let keywords = ["connect_timeout", "application_name", "keepalives_idle", "keepalives_interval", "keepalives_count",
            "tcp_user_timeout", "dbname"]
        let values = ["10", "spp-hookd", "10", "5", "3", "30000", conninfo]
        let handle = Self.withCStrings(keywords) { k in
            Self.withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let handle else { throw Failure(message: "cannot allocate a connection", sqlstate: nil, connectionLost: true) }
        conn = handle
        // Server notices ("relation … already exists, skipping") are not for the journal.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        guard PQstatus(conn) == CONNECTION_OK else {
            // deinit (which runs: every property is set) finishes the connection.
            throw Failure(message: redact(String(cString: PQerrorMessage(conn))).trimmed, sqlstate: nil, connectionLost: true)
        }
    }

    deinit { PQfinish(conn) }

    var isOK: Bool { PQstatus(conn) == CONNECTION_OK }

    /// The server's version, e.g. 150018.
    var serverVersion: Int { Int(PQserverVersion(conn)) }

    /// Runs `sql` (one or more statements, no parameters).
    func execute(_ sql: String) throws(Failure) {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs a query without parameters and returns the first column of its first row.
    func scalar(_ sql: String) throws(Failure) -> String? {
        let result = PQexec(conn, sql)
        defer { PQclear(result) }
        try check(result)
        guard PQntuples(result) > 0, PQgetisnull(result, 0, 0) == 0, let v = PQgetvalue(result, 0, 0) else { return nil }
        return String(cString: v)
    }

    /// Statements prepared on this connection, by name.
    private var prepared = Set<String>()

    /// Runs `sql` as the prepared statement `name` (prepared on first use on this
    /// connection, so the server parses and plans it once), with text parameters.
    func execute(prepared name: String, _ sql: String, parameters: [[UInt8]?]) throws(Failure) {
        if !prepared.contains(name) {
            let result = PQprepare(conn, name, sql, Int32(parameters.count), nil)
            defer { PQclear(result) }
            try check(result)
            prepared.insert(name)
        }
        do {
            try execute(sql, parameters: parameters, prepared: name)
        } catch {
            // Gone on the server (DISCARD ALL, a transaction-pooling proxy): prepare it again next time.
            if error.sqlstate == "26000" { prepared.remove(name) }
            throw error
        }
    }

    /// Runs one statement with text parameters (nil is SQL NULL).
    func execute(_ sql: String, parameters: [[UInt8]?], prepared name: String? = nil) throws(Failure) {
        // One buffer of NUL-terminated values, and pointers into it.
        var buffer: [UInt8] = []
        var offsets: [Int?] = []
        buffer.reserveCapacity(parameters.reduce(0) { $0 + ($1?.count ?? 0) + 1 })
        for p in parameters {
            guard let p else { offsets.append(nil); continue }
            offsets.append(buffer.count)
            buffer += p
            buffer.append(0)
        }
        let result: OpaquePointer? = buffer.withUnsafeBufferPointer { raw in
            raw.withMemoryRebound(to: CChar.self) { chars in
                // An offset exists only for a value in the buffer, so the buffer is not empty there.
                let pointers: [UnsafePointer<CChar>?] = offsets.map { $0.map { chars.baseAddress! + $0 } }
                return pointers.withUnsafeBufferPointer { values in
                    if let name { return PQexecPrepared(conn, name, Int32(parameters.count), values.baseAddress, nil, nil, 0) }
                    return PQexecParams(conn, sql, Int32(parameters.count), nil, values.baseAddress, nil, nil, 0)
                }
            }
        }
        defer { PQclear(result) }
        try check(result)
    }

    private func check(_ result: OpaquePointer?) throws(Failure) {
        let status = PQresultStatus(result)
        guard status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK else { return }
        let sqlstate = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
        let text = result.flatMap { PQresultErrorMessage($0) }.map { String(cString: $0) } ?? ""
        let message = text.isEmpty ? String(cString: PQerrorMessage(conn)) : text
        throw Failure(message: redact(message).trimmed, sqlstate: sqlstate, connectionLost: PQstatus(conn) != CONNECTION_OK)
    }

    /// Checks that `conninfo` parses, without connecting; the error is libpq's, redacted.
    static func validate(_ conninfo: String) -> String? {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            defer { PQfreemem(error) }
            return Redaction(conninfo)(error.map { String(cString: $0) } ?? "does not parse").trimmed
        }
        PQconninfoFree(options)
        return nil
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }  // never empty: it ends in nil
    }
}

extension String {
    fileprivate var trimmed: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
