// SPDX-License-Identifier: MIT

/// Every way a request can fail to parse. Each maps to one response status; after any of
/// them the connection is closed, because the framing of what follows is in doubt.
public enum HTTPParseError: Error, Equatable, Sendable {
    case invalidRequestLine
    case invalidMethod
    /// A well-formed method we do not recognise (RFC 9110 §9.1: 501).
    case unknownMethod
    case invalidTarget
    case requestLineTooLong
    case invalidVersion
    case unsupportedVersion
    /// A bare CR or LF where CRLF is required (RFC 9112 §2.2).
    case invalidLineEnding
    case invalidHeaderName
    case invalidHeaderValue
    /// obs-fold: a field line starting with whitespace (RFC 9112 §5.2).
    case obsoleteLineFolding
    case headerSectionTooLarge
    case tooManyHeaders
    case missingHost
    case duplicateHost
    case invalidContentLength
    case conflictingContentLength
    /// RFC 9112 §6.1: a request with both is a smuggling attempt or broken.
    case contentLengthWithTransferEncoding
    /// Transfer-Encoding whose final coding is not `chunked` (RFC 9112 §6.3 #4).
    case chunkedNotFinal
    /// A transfer coding we do not implement (RFC 9112 §6.1: 501).
    case unknownTransferCoding
    case invalidChunkSize
    case invalidChunkExtension
    case invalidChunkTerminator
    case bodyTooLarge

    /// The status the server answers with before closing.
    public var status: Int {
        switch self {
        case .requestLineTooLong: 414
        case .headerSectionTooLarge, .tooManyHeaders: 431
        case .bodyTooLarge: 413
        case .unsupportedVersion: 505
        case .unknownTransferCoding, .unknownMethod: 501
        default: 400
        }
    }

    /// A short reason for the JSON error body.
    public var reason: String {
        switch self {
        case .invalidRequestLine: "invalid request line"
        case .invalidMethod: "invalid method"
        case .unknownMethod: "method not implemented"
        case .invalidTarget: "invalid request target"
        case .requestLineTooLong: "request line too long"
        case .invalidVersion: "invalid HTTP version"
        case .unsupportedVersion: "HTTP version not supported"
        case .invalidLineEnding: "bare CR or LF"
        case .invalidHeaderName: "invalid header field name"
        case .invalidHeaderValue: "invalid header field value"
        case .obsoleteLineFolding: "obsolete line folding"
        case .headerSectionTooLarge: "header section too large"
        case .tooManyHeaders: "too many header fields"
        case .missingHost: "missing Host header"
        case .duplicateHost: "more than one Host header"
        case .invalidContentLength: "invalid Content-Length"
        case .conflictingContentLength: "conflicting Content-Length"
        case .contentLengthWithTransferEncoding: "Content-Length with Transfer-Encoding"
        case .chunkedNotFinal: "Transfer-Encoding must end with chunked"
        case .unknownTransferCoding: "unsupported transfer coding"
        case .invalidChunkSize: "invalid chunk size"
        case .invalidChunkExtension: "invalid chunk extension"
        case .invalidChunkTerminator: "chunk data not followed by CRLF"
        case .bodyTooLarge: "body too large"
        }
    }
}
