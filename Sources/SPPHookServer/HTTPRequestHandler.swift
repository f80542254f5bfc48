// SPDX-License-Identifier: MIT
public import SPPHookCore

/// What the connection layer calls for each request. Responses may come later and from
/// any thread (the event log answers after its sync).
public protocol HTTPRequestHandler: Sendable {
    /// Called when a request's head is complete and a body will follow. Return a response
    /// to refuse early (the connection then closes without reading the body), or nil to
    /// read the body (sending `100 Continue` first when the client asked for it).
    func precheck(_ head: HTTPRequestHead) -> HTTPResponse?

    func handle(_ request: HTTPRequest, respond: @escaping @Sendable (HTTPResponse) -> Void)
}
