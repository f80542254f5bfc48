// SPDX-License-Identifier: MIT

/// The SQL a postgres sink runs: its table's schema (version ``schemaVersion``), and one
/// multi-row INSERT per batch that skips events already in the table (their id is the key),
/// so at-least-once delivery, from one receiver or several, leaves each event once.
public enum PostgresStatements {
    /// The columns an INSERT fills, in parameter order.
    public static let columns = ["id", "seq", "instance", "endpoint", "category", "event", "created", "received_at", "payload"]

    /// Bumped by a later version that changes the table; recorded in the table's comment.
    public static let schemaVersion = 1
    public static let schemaComment = "spp-hookd events, schema \(schemaVersion)"

    /// `name` or `schema.name`, each part `[A-Za-z_][A-Za-z0-9_]*` of at most 40 characters
    /// (index names add a suffix within PostgreSQL's 63).
    public static func isValidTable(_ table: String) -> Bool {
        let parts = table.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { part in
            guard let first = part.utf8.first, (1...40).contains(part.utf8.count), !(0x30...0x39).contains(first) else { return false }
            return part.utf8.allSatisfy { ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || (0x30...0x39).contains($0) || $0 == UInt8(ascii: "_") }
        }
    }

    /// The table name quoted for SQL (`"schema"."table"`); `table` must be valid.
    public static func quoted(_ table: String) -> String {
        table.split(separator: ".").map { "\"\($0)\"" }.joined(separator: ".")
    }

    /// The table's own name, for its indexes (which live in the table's schema).
    static func baseName(_ table: String) -> String {
        String(table.split(separator: ".").last ?? Substring(table))
    }

    /// Creates the table and its indexes when missing (idempotent), under an advisory lock
    /// so two receivers starting at once do not race, and records the schema version.
    public static func create(_ table: String) -> String {
        let t = quoted(table), base = baseName(table)
        return """
            BEGIN;
            SELECT pg_advisory_xact_lock(hashtext('spp-hookd schema ' || \(literal(table))));
            CREATE TABLE IF NOT EXISTS \(t) (
                id text PRIMARY KEY,
                seq bigint NOT NULL,
                instance text NOT NULL,
                endpoint text NOT NULL,
                category text NOT NULL,
                event text NOT NULL,
                created timestamptz,
                received_at timestamptz NOT NULL,
                payload jsonb NOT NULL,
                inserted_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE INDEX IF NOT EXISTS "\(base)_event_received_idx" ON \(t) (event, received_at);
            CREATE INDEX IF NOT EXISTS "\(base)_category_received_idx" ON \(t) (category, received_at);
            CREATE INDEX IF NOT EXISTS "\(base)_received_idx" ON \(t) (received_at);
            CREATE INDEX IF NOT EXISTS "\(base)_payload_idx" ON \(t) USING gin (payload jsonb_path_ops);
            DO $$ BEGIN
                IF obj_description(\(literal(t))::regclass, 'pg_class') IS NULL THEN
                    COMMENT ON TABLE \(t) IS \(literal(schemaComment));
                END IF;
            END $$;
            COMMIT;
            """
    }

    /// `t` when the table exists.
    public static func exists(_ table: String) -> String {
        "SELECT to_regclass(\(literal(quoted(table)))) IS NOT NULL"
    }

    /// Reads the schema version back (`spp-hookd events, schema N`), to refuse a newer one.
    public static func version(_ table: String) -> String {
        "SELECT obj_description(\(literal(quoted(table)))::regclass, 'pg_class')"
    }

    /// The version in a table comment, or nil when the comment is not ours.
    public static func parseVersion(_ comment: String) -> Int? {
        guard comment.hasPrefix("spp-hookd events, schema ") else { return nil }
        return Int(comment.dropFirst("spp-hookd events, schema ".count))
    }

    /// One INSERT of `rows` events: parameters $1… in ``columns`` order, 9 per row. `ON
    /// CONFLICT DO NOTHING` without a conflict target: with `(id)` PostgreSQL would also
    /// want SELECT on the column, and INSERT alone is the privilege the sink should need.
    public static func insert(_ table: String, rows: Int) -> String {
        var sql = "INSERT INTO \(quoted(table)) (\(columns.joined(separator: ", "))) VALUES "
        for r in 0..<rows {
            let p = r * columns.count
            if r > 0 { sql += ", " }
            sql += "($\(p + 1), $\(p + 2)::bigint, $\(p + 3), $\(p + 4), $\(p + 5), $\(p + 6), "
            sql += "to_timestamp($\(p + 7)::bigint), $\(p + 8)::timestamptz, $\(p + 9)::jsonb)"
        }
        return sql + " ON CONFLICT DO NOTHING"
    }

    /// The table's quoted name as a SQL string literal (for `::regclass` and privilege checks).
    public static func literalTable(_ table: String) -> String {
        literal(quoted(table))
    }

    /// A SQL string literal.
    static func literal(_ text: String) -> String {
        "'" + text.replacingAll("'", with: "''") + "'"
    }

    /// Whether an error (by SQLSTATE) is about one row's data, so that the rows of a failed
    /// batch are worth trying one by one: class 22, data exception (`\u0000` in jsonb, say).
    public static func isDataError(_ sqlstate: String) -> Bool {
        sqlstate.hasPrefix("22")
    }
}
