// SPDX-License-Identifier: MIT

/// An incremental, strict HTTP/1.1 request parser (RFC 9112).
///
/// Feed it whatever bytes arrive with ``feed(_:)`` and call ``next()`` until it returns
/// `nil` (more data needed). It yields ``Event/head(_:)`` once the header section is
/// complete (so the server can answer `100 Continue` or refuse early) and then
/// ``Event/request(_:)`` with the decoded body. Bytes after a complete request stay
/// buffered for the next one (pipelining).
///
/// After a thrown error the parser must not be used again: the connection's framing is
/// in doubt, so the server answers the error's status and closes.
public struct HTTPRequestParser: Sendable {
    public enum Event: Sendable, Equatable {
        case head(HTTPRequestHead)
        case request(HTTPRequest)
    }

    private enum State: Sendable {
        case requestLine
        case headers
        case headComplete
        case contentBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case complete
    }

    public let limits: HTTPParserLimits
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the next LF resumes, so byte-at-a-time input stays linear.
    private var scanIndex = 0
    /// Where `nextLine` found the byte it failed on (the prefix before it is checked first).
    private var lineErrorIndex = 0
    private var state: State = .requestLine
    private var headBytes = 0
    private var emptyLinesBeforeRequest = 0
    private var requestLine: (method: String, target: String, minor: Int)?
    private var headers = HTTPHeaders()
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    public init(limits: HTTPParserLimits = HTTPParserLimits()) {
        self.limits = limits
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Appends received bytes.
    public mutating func feed(_ bytes: [UInt8]) {
        compact()
        buffer.append(contentsOf: bytes)
    }

    private mutating func compact() {
        if readIndex > 0 && (readIndex == buffer.count || readIndex >= 64 * 1024) {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }

    /// Bytes received but not yet consumed by a request.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// True between requests, when no byte of a next request has arrived.
    public var isIdle: Bool {
        if case .requestLine = state { return bufferedByteCount == 0 }
        return false
    }

    /// True once the header section of the current request is complete.
    public var isReadingBody: Bool {
        switch state {
        case .requestLine, .headers: false
        default: true
        }
    }

    /// What one step of the state machine came to.
    private enum Step {
        /// The state changed: go on.
        case next
        /// More bytes are needed.
        case needBytes
        case event(Event)
    }

    /// Parses as far as the buffered bytes allow.
    /// - Returns: the next event, or `nil` when more bytes are needed.
    /// - Throws: ``HTTPParseError``; the connection must then be answered and closed.
    public mutating func next() throws(HTTPParseError) -> Event? {
        while true {
            let step: Step
            switch state {
            case .requestLine: step = try readRequestLine()
            case .headers: step = try readFieldLine()
            case .headComplete: step = startBody()
            case .contentBody(let remaining):
                guard let left = takeBody(remaining) else { return nil }
                state = left == 0 ? .complete : .contentBody(remaining: left)
                step = .next
            case .chunkSize: step = try readChunkSize()
            case .chunkData(let remaining):
                guard let left = takeBody(remaining) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                step = .next
            case .chunkDataEnd: step = try readChunkDataEnd()
            case .trailers: step = try readTrailerLine()
            case .complete:
                // `head` is set on entering `.headComplete`, the only way to `.complete`.
                let request = HTTPRequest(head: head!, body: body)
                reset()
                return .request(request)
            }
            switch step {
            case .next: continue
            case .needBytes: return nil
            case .event(let event): return event
            }
        }
    }

    private mutating func readRequestLine() throws(HTTPParseError) -> Step {
        let found: ArraySlice<UInt8>?
        do {
            found = try nextLine(limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong)
        } catch {
            // What came before the bad byte is judged first, as it would have been had it
            // arrived in an earlier read: the outcome never depends on chunking.
            try checkPartialRequestLine(upTo: lineErrorIndex)
            throw error
        }
        guard let line = found else {
            try checkPartialRequestLine()
            return .needBytes
        }
        if line.isEmpty {
            // RFC 9112 §2.2: ignore at least one empty line before a request-line.
            emptyLinesBeforeRequest += 1
            if emptyLinesBeforeRequest > 8 { throw .invalidRequestLine }
            return .next
        }
        headBytes = line.count + 2
        requestLine = try HTTPRequestSyntax.parseRequestLine(line)
        state = .headers
        return .next
    }

    private mutating func readFieldLine() throws(HTTPParseError) -> Step {
        let found: ArraySlice<UInt8>?
        do {
            found = try nextLine(limit: limits.maxHeaderBytes - headBytes, tooLong: .headerSectionTooLarge)
        } catch {
            try checkPartialField(upTo: lineErrorIndex)
            throw error
        }
        guard let line = found else {
            try checkPartialField()
            return .needBytes
        }
        headBytes += line.count + 2
        if headBytes > limits.maxHeaderBytes { throw .headerSectionTooLarge }
        if line.isEmpty {
            let head = try makeHead()
            self.head = head
            state = .headComplete
            return .event(.head(head))
        }
        let field = try HTTPRequestSyntax.parseField(line)
        if headers.count >= limits.maxHeaderCount { throw .tooManyHeaders }
        if asciiCaseInsensitiveEquals(field.name, "content-length") {
            // Checked as it arrives, so a bad or conflicting length fails fast.
            _ = try HTTPRequestSyntax.contentLength(of: headers.values("content-length") + [field.value])
        }
        headers.add(name: field.name, value: field.value)
        return .next
    }

    private mutating func startBody() -> Step {
        // `head` was set with the move to `.headComplete`.
        switch head!.framing {
        case .none: state = .complete
        case .length(let n): state = n == 0 ? .complete : .contentBody(remaining: n)
        case .chunked: state = .chunkSize
        }
        return .next
    }

    private mutating func readChunkSize() throws(HTTPParseError) -> Step {
        guard let line = try nextLine(limit: limits.maxChunkLineBytes, tooLong: .invalidChunkSize) else { return .needBytes }
        let size = try HTTPRequestSyntax.parseChunkSizeLine(line, maxBodyBytes: limits.maxBodyBytes)
        if size == 0 {
            state = .trailers
        } else {
            if body.count + size > limits.maxBodyBytes { throw .bodyTooLarge }
            state = .chunkData(remaining: size)
        }
        return .next
    }

    private mutating func readChunkDataEnd() throws(HTTPParseError) -> Step {
        guard buffer.count - readIndex >= 2 else {
            if buffer.count > readIndex && buffer[readIndex] != 0x0D { throw .invalidChunkTerminator }
            return .needBytes
        }
        guard buffer[readIndex] == 0x0D, buffer[readIndex + 1] == 0x0A else { throw .invalidChunkTerminator }
        consume(2)
        state = .chunkSize
        return .next
    }

    private mutating func readTrailerLine() throws(HTTPParseError) -> Step {
        guard let line = try nextLine(limit: limits.maxHeaderBytes - headBytes, tooLong: .headerSectionTooLarge) else {
            return .needBytes
        }
        headBytes += line.count + 2
        if headBytes > limits.maxHeaderBytes { throw .headerSectionTooLarge }
        if line.isEmpty {
            state = .complete
        } else {
            _ = try HTTPRequestSyntax.parseField(line)  // validated, then discarded: trailers never affect framing
        }
        return .next
    }

    private mutating func reset() {
        state = .requestLine
        headBytes = 0
        emptyLinesBeforeRequest = 0
        requestLine = nil
        headers = HTTPHeaders()
        head = nil
        body = []
    }

    /// Moves up to `remaining` buffered bytes into the body; returns what is still to come,
    /// or nil when nothing is buffered.
    private mutating func takeBody(_ remaining: Int) -> Int? {
        let available = buffer.count - readIndex
        guard available > 0 else { return nil }
        let take = min(available, remaining)
        body.append(contentsOf: buffer[readIndex..<readIndex + take])
        consume(take)
        return remaining - take
    }

    private mutating func consume(_ n: Int) {
        readIndex += n
        if scanIndex < readIndex { scanIndex = readIndex }
    }

    /// The next CRLF-terminated line (without its CRLF), or nil when it is not complete.
    /// Bare LF and bare CR are errors; a line longer than `limit` throws `tooLong`.
    private mutating func nextLine(limit: Int, tooLong: HTTPParseError) throws(HTTPParseError) -> ArraySlice<UInt8>? {
        if scanIndex < readIndex { scanIndex = readIndex }
        lineErrorIndex = buffer.count
        var i = scanIndex
        let end = buffer.count
        while i < end {
            let c = buffer[i]
            if c == 0x0A {
                lineErrorIndex = i
                guard i > readIndex, buffer[i - 1] == 0x0D else { throw .invalidLineEnding }
                let line = buffer[readIndex..<(i - 1)]
                if line.count > limit { throw tooLong }
                readIndex = i + 1
                scanIndex = readIndex
                return line
            }
            if c == 0x0D {
                // A CR must be followed by LF; when it is the last byte so far, look at it
                // again once more input arrives.
                guard i + 1 < end else { break }
                lineErrorIndex = i + 1
                if buffer[i + 1] != 0x0A { throw .invalidLineEnding }
            }
            i += 1
            // Too long as soon as the byte that makes it so is seen (allowing for a CR that
            // may end the line), before anything later in the buffer is looked at.
            if i - readIndex > limit + 1 {
                lineErrorIndex = i
                throw tooLong
            }
        }
        scanIndex = i
        return nil
    }

    private func makeHead() throws(HTTPParseError) -> HTTPRequestHead {
        // Set with the move to `.headers`, before any field line is read.
        let (method, target, minor) = requestLine!
        let known = KnownFields(headers)
        if known.hosts > 1 { throw .duplicateHost }
        if minor == 1 && known.hosts == 0 { throw .missingHost }

        var framing = HTTPRequestHead.Framing.none
        var extraCodings: [String] = []
        let (te, cl) = (known.transferEncoding, known.contentLength)
        if !te.isEmpty {
            // RFC 9112 §6.1: Content-Length with Transfer-Encoding is refused outright.
            if !cl.isEmpty { throw .contentLengthWithTransferEncoding }
            let codings = HTTPHeaders.tokens(of: te)
            guard codings.allSatisfy({ !$0.isEmpty }) else { throw .chunkedNotFinal }
            for coding in codings where !HTTPSyntax.knownTransferCodings.contains(coding) {
                throw .unknownTransferCoding
            }
            guard codings.last == "chunked", codings.filter({ $0 == "chunked" }).count == 1 else {
                throw .chunkedNotFinal
            }
            extraCodings = Array(codings.dropLast())
            framing = .chunked
        } else if !cl.isEmpty {
            let length = try HTTPRequestSyntax.contentLength(of: cl)
            if length > limits.maxBodyBytes { throw .bodyTooLarge }
            framing = .length(length)
        }

        let connection = HTTPHeaders.tokens(of: known.connection)
        let keepAlive: Bool
        if minor == 0 && !te.isEmpty {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; close after.
            keepAlive = false
        } else if minor == 0 {
            keepAlive = connection.contains("keep-alive") && !connection.contains("close")
        } else {
            keepAlive = !connection.contains("close")
        }
        let expect = HTTPHeaders.tokens(of: known.expect)
        return HTTPRequestHead(
            method: HTTPMethod(method),
            target: target,
            versionMinor: minor,
            headers: headers,
            framing: framing,
            keepAlive: keepAlive,
            expectContinue: minor == 1 && expect.contains("100-continue"),
            upgradeRequested: method == HTTPMethod.connect.name || known.upgrade,
            extraTransferCodings: extraCodings
        )
    }

    /// The start of the line being read (at most 64 bytes, so repeated checks stay cheap),
    /// up to `end` when a bad byte was found there.
    private func partialLine(upTo end: Int?) -> ArraySlice<UInt8> {
        buffer[readIndex..<min(end ?? buffer.count, readIndex + 64)]
    }

    /// A bad method or version fails without waiting for CRLF.
    private func checkPartialRequestLine(upTo end: Int? = nil) throws(HTTPParseError) {
        try HTTPRequestSyntax.checkPartialRequestLine(partialLine(upTo: end))
    }

    /// Whitespace first (obs-fold) or a non-token name fails without waiting for CRLF.
    private func checkPartialField(upTo end: Int? = nil) throws(HTTPParseError) {
        try HTTPRequestSyntax.checkPartialField(partialLine(upTo: end))
    }
}
