// SPDX-License-Identifier: MIT
public import SPPHookCore
import SPPHookPOSIX

/// What the connection layer calls for each request. Responses may come later and from
/// any thread (the event log answers after its sync).
public protocol HTTPRequestHandler: Sendable {
    /// Called when a request that sent `Expect: 100-continue` has a complete head. Return a
    /// response to refuse it before the body is sent (the connection then closes), or nil
    /// to send `100 Continue` and read the body.
    func precheck(_ head: HTTPRequestHead) -> HTTPResponse?

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
