// SPDX-License-Identifier: MIT

/// The request-line, field-line, Content-Length and chunk-size rules of RFC 9112 that
/// ``HTTPRequestParser`` applies: pure functions of the bytes they are given. The checks of
/// incomplete lines follow the complete ones in order, so an answer never depends on how
/// the bytes were split.
enum HTTPRequestSyntax {
    static func parseRequestLine(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (String, String, Int) {
        guard let sp1 = line.firstIndex(of: 0x20) else {
            // As the partial check judges it: a method with a non-token byte is a bad method.
            throw line.allSatisfy(HTTPSyntax.isTokenChar) ? .invalidRequestLine : .invalidMethod
        }
        let method = line[line.startIndex..<sp1]
        guard !method.isEmpty, method.allSatisfy(HTTPSyntax.isTokenChar) else { throw .invalidMethod }
        guard HTTPMethodRegistry.isKnown(method) else { throw .unknownMethod }
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
        if !HTTPMethodRegistry.isAllowed(methodString, in: proto) { throw proto == .http ? .unknownMethod : .invalidMethod }
        let targetString = String(decoding: target, as: UTF8.self)
        try validateTarget(targetString, method: methodString)
        return (methodString, targetString, minor)
    }

    static func parseVersion(_ v: ArraySlice<UInt8>) throws(HTTPParseError) -> (HTTPMethodRegistry.RequestProtocol, Int) {
        let bytes = Array(v)
        let proto = try checkVersion(bytes, complete: true)!  // complete: it throws rather than return nil
        return (proto, Int(bytes[bytes.count - 1] - UInt8(ascii: "0")))
    }

    /// version = ( "HTTP/" / "RTSP/" / "ICE/" ) DIGIT "." DIGIT, judged in one order for
    /// partial and complete lines, so the answer never depends on how the bytes were split:
    /// the protocol name, then the digits' syntax, then support (HTTP/1.0, HTTP/1.1, and
    /// RTSP/1.0 and ICE/1.0 as llhttp accepts them), then length. Returns the protocol once
    /// its name is complete.
    @discardableResult
    static func checkVersion(_ bytes: [UInt8], complete: Bool) throws(HTTPParseError) -> HTTPMethodRegistry.RequestProtocol? {
        guard let proto = HTTPMethodRegistry.RequestProtocol.allCases.first(where: { p in
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
    static func validateTarget(_ target: String, method: String) throws(HTTPParseError) {
        if target.hasPrefix("/") || target == "*" { return }
        if method == "CONNECT" { return }  // authority-form
        let lower = target.lowercasedASCII()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return }
        throw .invalidTarget
    }

    static func parseField(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> (name: String, value: String) {
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
    static func firstValueError(_ value: some Collection<UInt8>, contentLength: Bool) -> HTTPParseError? {
        for c in value {
            if c == 0x0D { return nil }
            if !HTTPSyntax.isFieldValueChar(c) { return .invalidHeaderValue }
            if contentLength && !(HTTPSyntax.isDigit(c) || c == 0x20 || c == 0x09 || c == UInt8(ascii: ",")) {
                return .invalidContentLength
            }
        }
        return nil
    }


    /// The one length all Content-Length values (and list elements) agree on
    /// (RFC 9112 §6.3 #5: differing values are unrecoverable).
    static func contentLength(of values: [String]) throws(HTTPParseError) -> Int {
        // The usual case, one plain number, without splitting and trimming.
        if values.count == 1, let n = plainNumber(values[0]) { return n }
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

    /// 1 to 18 ASCII digits and nothing else, as a number; nil for anything else.
    private static func plainNumber(_ value: String) -> Int? {
        var n = 0
        var count = 0
        for byte in value.utf8 {
            guard HTTPSyntax.isDigit(byte), count < 18 else { return nil }
            n = n * 10 + Int(byte - 0x30)
            count += 1
        }
        return count > 0 ? n : nil
    }

    /// Validates the start of an incomplete request line (at most its first 64 bytes, so
    /// repeated calls stay cheap): a bad method or version fails without waiting for CRLF.
    static func checkPartialRequestLine(_ start: ArraySlice<UInt8>) throws(HTTPParseError) {
        // Up to a CR: whether the line ends there is for the whole line to decide.
        let partial = start.prefix(while: { $0 != 0x0D })
        guard let sp1 = partial.firstIndex(of: 0x20) else {
            if !partial.allSatisfy(HTTPSyntax.isTokenChar) { throw .invalidMethod }
            return
        }
        let method = partial[partial.startIndex..<sp1]
        guard !method.isEmpty, method.allSatisfy(HTTPSyntax.isTokenChar) else { throw .invalidMethod }
        guard HTTPMethodRegistry.isKnown(method) else { throw .unknownMethod }
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
    static func checkPartialField(_ partial: ArraySlice<UInt8>) throws(HTTPParseError) {
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
    static func parseChunkSizeLine(_ line: ArraySlice<UInt8>, maxBodyBytes: Int) throws(HTTPParseError) -> Int {
        var i = line.startIndex
        var size = 0
        while i < line.endIndex, let d = HTTPSyntax.hexValue(line[i]) {
            if size > (Int.max >> 4) - 16 { throw .bodyTooLarge }
            size = size << 4 | d
            i += 1
        }
        guard i > line.startIndex else { throw .invalidChunkSize }
        if size > maxBodyBytes { throw .bodyTooLarge }
        if i < line.endIndex {
            guard line[i] == UInt8(ascii: ";") else { throw .invalidChunkSize }
            try HTTPSyntax.validateChunkExtensions(line[i...])
        }
        return size
    }
}
