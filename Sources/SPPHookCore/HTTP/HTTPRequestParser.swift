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

    /// Parses as far as the buffered bytes allow.
    /// - Returns: the next event, or `nil` when more bytes are needed.
    /// - Throws: ``HTTPParseError``; the connection must then be answered and closed.
    public mutating func next() throws(HTTPParseError) -> Event? {
        while true {
            switch state {
            case .requestLine:
                let found: ArraySlice<UInt8>?
                do {
                    found = try nextLine(limit: limits.maxRequestLineBytes, tooLong: .requestLineTooLong)
                } catch {
                    // What came before the bad byte is judged first, as it would have been
                    // had it arrived in an earlier read: the outcome never depends on chunking.
                    try checkPartialRequestLine(upTo: lineErrorIndex)
                    throw error
                }
                guard let line = found else {
                    try checkPartialRequestLine()
                    return nil
                }
                if line.isEmpty {
                    // RFC 9112 §2.2: ignore at least one empty line before a request-line.
                    emptyLinesBeforeRequest += 1
                    if emptyLinesBeforeRequest > 8 { throw .invalidRequestLine }
                    continue
                }
                headBytes = line.count + 2
                requestLine = try parseRequestLine(line)
                state = .headers

            case .headers:
                let remaining = limits.maxHeaderBytes - headBytes
                let found: ArraySlice<UInt8>?
                do {
                    found = try nextLine(limit: remaining, tooLong: .headerSectionTooLarge)
                } catch {
                    try checkPartialField(upTo: lineErrorIndex)
                    throw error
                }
                guard let line = found else {
                    try checkPartialField()
                    return nil
                }
                headBytes += line.count + 2
                if headBytes > limits.maxHeaderBytes { throw .headerSectionTooLarge }
                if line.isEmpty {
                    let head = try makeHead()
                    self.head = head
                    state = .headComplete
                    return .head(head)
                }
                let field = try parseField(line)
                if headers.count >= limits.maxHeaderCount { throw .tooManyHeaders }
                if asciiCaseInsensitiveEquals(field.name, "content-length") {
                    // Checked as it arrives, so a bad or conflicting length fails fast.
                    _ = try contentLength(of: headers.values("content-length") + [field.value])
                }
                headers.add(name: field.name, value: field.value)

            case .headComplete:
                switch head!.framing {
                case .none: state = .complete
                case .length(let n): state = n == 0 ? .complete : .contentBody(remaining: n)
                case .chunked: state = .chunkSize
                }

            case .contentBody(let remaining):
                guard let left = takeBody(remaining) else { return nil }
                state = left == 0 ? .complete : .contentBody(remaining: left)

            case .chunkSize:
                guard let line = try nextLine(limit: limits.maxChunkLineBytes, tooLong: .invalidChunkSize) else {
                    return nil
                }
                let size = try parseChunkSizeLine(line)
                if size == 0 {
                    state = .trailers
                } else {
                    if body.count + size > limits.maxBodyBytes { throw .bodyTooLarge }
                    state = .chunkData(remaining: size)
                }

            case .chunkData(let remaining):
                guard let left = takeBody(remaining) else { return nil }
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)

            case .chunkDataEnd:
                guard buffer.count - readIndex >= 2 else {
                    if buffer.count > readIndex && buffer[readIndex] != 0x0D { throw .invalidChunkTerminator }
                    return nil
                }
                guard buffer[readIndex] == 0x0D, buffer[readIndex + 1] == 0x0A else { throw .invalidChunkTerminator }
                consume(2)
                state = .chunkSize

            case .trailers:
                let remaining = limits.maxHeaderBytes - headBytes
                guard let line = try nextLine(limit: remaining, tooLong: .headerSectionTooLarge) else {
                    return nil
                }
                headBytes += line.count + 2
                if headBytes > limits.maxHeaderBytes { throw .headerSectionTooLarge }
                if line.isEmpty {
                    state = .complete
                } else {
                    _ = try parseField(line)  // validated, then discarded: trailers never affect framing
                }

            case .complete:
                let request = HTTPRequest(head: head!, body: body)
                reset()
                return .request(request)
            }
        }
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

    private func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String, Int) {
        guard let sp1 = line.firstIndex(of: 0x20) else {
            // As the partial check judges it: a method with a non-token byte is a bad method.
            throw line.allSatisfy(HTTPSyntax.isTokenChar) ? .invalidRequestLine : .invalidMethod
        }
        let method = line[line.startIndex..<sp1]
        guard !method.isEmpty, method.allSatisfy(HTTPSyntax.isTokenChar) else { throw .invalidMethod }
        guard HTTPMethod.isKnown(method) else { throw .unknownMethod }
        let rest = line[(sp1 + 1)...]
        // The same order as the partial check: target bytes, then the second space.
        let sp2 = rest.firstIndex(of: 0x20)
        let target = rest[rest.startIndex..<(sp2 ?? rest.endIndex)]
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidTarget }
        guard let sp2 else { throw .invalidRequestLine }
        guard !target.isEmpty else { throw .invalidTarget }
        let version = rest[(sp2 + 1)...]
        let (proto, minor) = try parseVersion(version)
        let methodString = String(decoding: method, as: UTF8.self)
        // RTSP and ICE request lines (as llhttp takes them) are answered like HTTP/1.0 and
        // closed; each protocol with its own methods only.
        if !HTTPMethod.isAllowed(methodString, in: proto) { throw proto == .http ? .unknownMethod : .invalidMethod }
        let targetString = String(decoding: target, as: UTF8.self)
        try validateTarget(targetString, method: methodString)
        return (methodString, targetString, minor)
    }

    private func parseVersion(_ v: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPMethod.RequestProtocol, Int) {
        let bytes = Array(v)
        let proto = try checkVersion(bytes, complete: true)!
        return (proto, Int(bytes[bytes.count - 1] - UInt8(ascii: "0")))
    }

    /// version = ( "HTTP/" / "RTSP/" / "ICE/" ) DIGIT "." DIGIT, judged in one order for
    /// partial and complete lines, so the answer never depends on how the bytes were split:
    /// the protocol name, then the digits' syntax, then support (HTTP/1.0, HTTP/1.1, and
    /// RTSP/1.0 and ICE/1.0 as llhttp accepts them), then length. Returns the protocol once
    /// its name is complete.
    @discardableResult
    private func checkVersion(_ bytes: [UInt8], complete: Bool) throws(HTTPParseError) -> HTTPMethod.RequestProtocol? {
        guard let proto = HTTPMethod.RequestProtocol.allCases.first(where: { p in
            let name = Array(p.rawValue.utf8)
            return bytes.count >= name.count ? bytes.starts(with: name) : name.starts(with: bytes)
        }) else { throw .invalidVersion }
        let nameLength = proto.rawValue.utf8.count
        guard bytes.count >= nameLength else {
            if complete { throw .invalidVersion }
            return nil
        }
        let digits = bytes[nameLength...]
        for (k, c) in digits.prefix(3).enumerated() {
            if !(k == 1 ? c == UInt8(ascii: ".") : HTTPSyntax.isDigit(c)) { throw .invalidVersion }
        }
        guard digits.count >= 3 else {
            if complete { throw .invalidVersion }
            return proto
        }
        let major = digits[nameLength], minor = digits[nameLength + 2]
        let supported = major == UInt8(ascii: "1") && (proto == .http ? minor <= UInt8(ascii: "1") : minor == UInt8(ascii: "0"))
        if !supported { throw .unsupportedVersion }
        if digits.count > 3 { throw .invalidVersion }
        return proto
    }

    /// RFC 9112 §3.2: origin-form, absolute-form, authority-form (CONNECT) or asterisk-form.
    private func validateTarget(_ target: String, method: String) throws(HTTPParseError) {
        if target.hasPrefix("/") || target == "*" { return }
        if method == "CONNECT" { return }  // authority-form
        let lower = target.lowercasedASCII()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return }
        throw .invalidTarget
    }

    private func parseField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
        let first = line[line.startIndex]
        if first == 0x20 || first == 0x09 { throw .obsoleteLineFolding }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .invalidHeaderName }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(HTTPSyntax.isTokenChar) else { throw .invalidHeaderName }
        var start = colon + 1
        var end = line.endIndex
        while start < end, line[start] == 0x20 || line[start] == 0x09 { start += 1 }
        while end > start, line[end - 1] == 0x20 || line[end - 1] == 0x09 { end -= 1 }
        let value = line[start..<end]
        let nameString = String(decoding: name, as: UTF8.self)
        if let error = Self.firstValueError(value, contentLength: asciiCaseInsensitiveEquals(nameString, "content-length")) {
            throw error
        }
        return (nameString, String(decoding: value, as: UTF8.self))
    }

    /// The first bad byte of a field value (or of its start, up to a CR, for a partial
    /// line), scanning left to right so that a split never changes which error is seen.
    private static func firstValueError(_ value: some Collection<UInt8>, contentLength: Bool) -> HTTPParseError? {
        for c in value {
            if c == 0x0D { return nil }
            if !HTTPSyntax.isFieldValueChar(c) { return .invalidHeaderValue }
            if contentLength && !(HTTPSyntax.isDigit(c) || c == 0x20 || c == 0x09 || c == UInt8(ascii: ",")) {
                return .invalidContentLength
            }
        }
        return nil
    }

    private func makeHead() throws(HTTPParseError) -> HTTPRequestHead {
        let (method, target, minor) = requestLine!
        let hosts = headers.values("host")
        if hosts.count > 1 { throw .duplicateHost }
        if minor == 1 && hosts.isEmpty { throw .missingHost }

        var framing = HTTPRequestHead.Framing.none
        var extraCodings: [String] = []
        let te = headers.values("transfer-encoding")
        let cl = headers.values("content-length")
        if !te.isEmpty {
            // RFC 9112 §6.1: Content-Length with Transfer-Encoding is refused outright.
            if !cl.isEmpty { throw .contentLengthWithTransferEncoding }
            let codings = headers.tokens("transfer-encoding")
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
            let length = try contentLength(of: cl)
            if length > limits.maxBodyBytes { throw .bodyTooLarge }
            framing = .length(length)
        }

        let connection = headers.tokens("connection")
        let keepAlive: Bool
        if minor == 0 && !te.isEmpty {
            // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; close after.
            keepAlive = false
        } else if minor == 0 {
            keepAlive = connection.contains("keep-alive") && !connection.contains("close")
        } else {
            keepAlive = !connection.contains("close")
        }
        let expect = headers.tokens("expect")
        return HTTPRequestHead(
            method: method,
            target: target,
            versionMinor: minor,
            headers: headers,
            framing: framing,
            keepAlive: keepAlive,
            expectContinue: minor == 1 && expect.contains("100-continue"),
            upgradeRequested: method == "CONNECT" || headers["upgrade"] != nil,
            extraTransferCodings: extraCodings
        )
    }

    /// The one length all Content-Length values (and list elements) agree on
    /// (RFC 9112 §6.3 #5: differing values are unrecoverable).
    private func contentLength(of values: [String]) throws(HTTPParseError) -> Int {
        var length: Int?
        for raw in values {
            for element in raw.split(separator: ",", omittingEmptySubsequences: false) {
                let digits = element.trimmingOWS()
                guard !digits.isEmpty, digits.utf8.allSatisfy(HTTPSyntax.isDigit) else {
                    throw .invalidContentLength
                }
                let trimmed = digits.drop(while: { $0 == "0" })
                guard trimmed.utf8.count <= 18, let n = Int(trimmed.isEmpty ? "0" : trimmed) else {
                    throw .invalidContentLength
                }
                if let length, length != n { throw .conflictingContentLength }
                length = n
            }
        }
        return length ?? 0
    }

    /// Validates the start of an incomplete request line (at most its first 64 bytes, so
    /// repeated calls stay cheap): a bad method or version fails without waiting for CRLF.
    private func checkPartialRequestLine(upTo end: Int? = nil) throws(HTTPParseError) {
        // Up to a CR: whether the line ends there is for the whole line to decide.
        let partial = buffer[readIndex..<min(end ?? buffer.count, readIndex + 64)].prefix(while: { $0 != 0x0D })
        guard let sp1 = partial.firstIndex(of: 0x20) else {
            if !partial.allSatisfy(HTTPSyntax.isTokenChar) { throw .invalidMethod }
            return
        }
        let method = partial[partial.startIndex..<sp1]
        guard !method.isEmpty, method.allSatisfy(HTTPSyntax.isTokenChar) else { throw .invalidMethod }
        guard HTTPMethod.isKnown(method) else { throw .unknownMethod }
        let sp2 = partial[(sp1 + 1)...].firstIndex(of: 0x20)
        let target = partial[(sp1 + 1)..<(sp2 ?? partial.endIndex)].prefix(while: { $0 != 0x0D })
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .invalidTarget }
        guard let sp2 else { return }
        if target.isEmpty { throw .invalidTarget }
        // The same rule as for a complete line: the first 8 bytes must read "HTTP/" DIGIT "."
        // DIGIT; once they do, an unsupported version is refused, and a 9th byte is malformed.
        try checkVersion(Array(partial[(sp2 + 1)...]), complete: false)
    }

    /// Validates the start of an incomplete field line: whitespace first (obs-fold) or a
    /// non-token name fails without waiting for CRLF.
    private func checkPartialField(upTo end: Int? = nil) throws(HTTPParseError) {
        let partial = buffer[readIndex..<min(end ?? buffer.count, readIndex + 64)]
        guard let first = partial.first else { return }
        if first == 0x20 || first == 0x09 { throw .obsoleteLineFolding }
        let name = partial.prefix(while: { $0 != UInt8(ascii: ":") })
        if name.last == 0x0D && name.count == 1 { return }  // the empty line ending the head
        for c in name {
            if c == 0x0D { return }  // the whole line decides (it may end here)
            if !HTTPSyntax.isTokenChar(c) { throw .invalidHeaderName }
        }
        if name.count < partial.count {  // the colon has arrived
            if name.isEmpty { throw .invalidHeaderName }
            let valueSoFar = partial[(partial.startIndex + name.count + 1)...]
            let isLength = name.count == 14 && asciiCaseInsensitiveEquals(String(decoding: name, as: UTF8.self), "content-length")
            if let error = Self.firstValueError(valueSoFar, contentLength: isLength) { throw error }
        }
    }

    /// chunk-size [ chunk-ext ]: hex digits, then `;name[=value]` extensions, nothing else.
    private func parseChunkSizeLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var i = line.startIndex
        var size = 0
        while i < line.endIndex, let d = HTTPSyntax.hexValue(line[i]) {
            if size > (Int.max >> 4) - 16 { throw .bodyTooLarge }
            size = size << 4 | d
            i += 1
        }
        guard i > line.startIndex else { throw .invalidChunkSize }
        if size > limits.maxBodyBytes { throw .bodyTooLarge }
        if i < line.endIndex {
            guard line[i] == UInt8(ascii: ";") else { throw .invalidChunkSize }
            try HTTPSyntax.validateChunkExtensions(line[i...])
        }
        return size
    }
}
