// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX

/// The admin listener's routes: `GET /healthz` and `GET /metrics`.
///
/// `/healthz` answers 200 `{"ok":true}` when the event log takes writes and the intake
/// loops answer a probe, else 503 with the reason. Inconsistencies found at start-up that
/// were resolved without stopping intake (a sink cursor ahead of the log) are listed as
/// `"warnings"` on a 200. `/metrics` is the Prometheus text
/// exposition (version 0.0.4).
public struct AdminHandler: HTTPRequestHandler {
    /// nil when healthy, else why not.
    let health: @Sendable () -> String?
    let metrics: @Sendable () -> [UInt8]
    let warnings: @Sendable () -> [String]

    public init(
        health: @escaping @Sendable () -> String?, warnings: @escaping @Sendable () -> [String] = { [] },
        metrics: @escaping @Sendable () -> [UInt8]
    ) {
        self.health = health
        self.warnings = warnings
        self.metrics = metrics
    }

    public func precheck(_ head: HTTPRequestHead) -> HTTPResponse? {
        head.method == .get || head.method == .head ? nil : .error(405, "only GET is accepted here", headers: [("Allow", "GET, HEAD")])
    }

    public func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void) {
        if let refusal = precheck(request.head) { return respond(refusal) }
        switch request.head.path {
        case "/healthz":
            if let problem = health() {
                respond(.json(503, .object(JSONObject([.init(key: "ok", value: .bool(false)), .init(key: "reason", value: .string(problem))]))))
            } else {
                var o = JSONObject([.init(key: "ok", value: .bool(true))])
                let w = warnings()
                if !w.isEmpty { o.set("warnings", .array(w.map { .string($0) })) }
                respond(.json(200, .object(o)))
            }
        case "/metrics":
            respond(HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")], body: metrics()))
        default:
            respond(.error(404, "not found; try /healthz or /metrics"))
        }
    }
}
