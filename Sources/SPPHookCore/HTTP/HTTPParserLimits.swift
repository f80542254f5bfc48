// SPDX-License-Identifier: MIT

/// Size limits the request parser enforces. Every limit turns into a definite status
/// (414, 431 or 413) rather than an unbounded buffer.
public struct HTTPParserLimits: Sendable, Equatable {
    /// Longest request line (method, target, version) before 414.
    public var maxRequestLineBytes: Int
    /// Largest header section (request line, fields and their CRLFs; trailers count too) before 431.
    public var maxHeaderBytes: Int
    /// Most header fields before 431.
    public var maxHeaderCount: Int
    /// Largest decoded body before 413. A Content-Length above it is refused before any body is read.
    public var maxBodyBytes: Int
    /// Longest chunk-size line including extensions before 400.
    public var maxChunkLineBytes: Int

    public init(
        maxRequestLineBytes: Int = 8 * 1024,
        maxHeaderBytes: Int = 16 * 1024,
        maxHeaderCount: Int = 100,
        maxBodyBytes: Int = 1024 * 1024,
        maxChunkLineBytes: Int = 1024
    ) {
        self.maxRequestLineBytes = maxRequestLineBytes
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxBodyBytes = maxBodyBytes
        self.maxChunkLineBytes = maxChunkLineBytes
    }
}
