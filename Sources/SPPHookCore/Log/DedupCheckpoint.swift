// SPDX-License-Identifier: MIT

/// The format of `dedup.checkpoint`: the dedup index and the log position it covers, so
/// start-up reads the index and the log after that position instead of the whole log.
///
/// Layout (little-endian): a 64-byte header, `count` entries of 16 bytes (``DedupTable/Entry``
/// `a` then `b`), and an 8-byte checksum of everything before it. Anything else (a short
/// file, another magic or version, a count that does not match the size, a checksum that
/// does not match) is refused, and start-up reads the whole log as without a checkpoint.
public struct DedupCheckpoint: Sendable, Equatable {
    public static let magic: [UInt8] = Array("SPPDEDUP".utf8)
    public static let version: UInt32 = 1
    public static let headerSize = 64
    public static let entrySize = 16

    /// The logical log position the entries cover: a line boundary, the end of the last
    /// batch on disk when the checkpoint was taken.
    public var end: Int64
    /// The seq of the line that ends at `end`; 0 when no line does (nothing before `end`).
    public var lastSeq: UInt64
    public var windowMs: Int64
    public var writtenAtMs: Int64
    public var count: Int

    public init(end: Int64, lastSeq: UInt64, windowMs: Int64, writtenAtMs: Int64, count: Int) {
        (self.end, self.lastSeq, self.windowMs, self.writtenAtMs, self.count) = (end, lastSeq, windowMs, writtenAtMs, count)
    }

    public enum Invalid: Error, Equatable, CustomStringConvertible {
        case notACheckpoint
        case version(UInt32)
        case size(expected: Int64, actual: Int64)
        case checksum
        case entry(Int)

        public var description: String {
            switch self {
            case .notACheckpoint: "not a dedup checkpoint (no SPPDEDUP header)"
            case .version(let v): "format version \(v), this build reads \(DedupCheckpoint.version)"
            case .size(let expected, let actual): "\(actual) bytes where the header promises \(expected) (torn or truncated)"
            case .checksum: "checksum does not match (corrupt)"
            case .entry(let i): "entry \(i) points past the position the checkpoint covers"
            }
        }
    }

    /// The size of a well-formed file with `count` entries.
    public static func fileSize(count: Int) -> Int64 { Int64(headerSize + count * entrySize + 8) }

    public var header: [UInt8] {
        var out = Self.magic
        out.reserveCapacity(Self.headerSize)
        Self.put(UInt64(Self.version) | UInt64(Self.entrySize) << 32, &out)
        for w in [UInt64(bitPattern: end), lastSeq, UInt64(bitPattern: windowMs), UInt64(bitPattern: writtenAtMs), UInt64(count)] {
            Self.put(w, &out)
        }
        Self.put(0, &out)
        return out
    }

    /// Reads a header; `fileSize` is checked against the count it gives.
    public init(header bytes: ArraySlice<UInt8>, fileSize: Int64) throws(Invalid) {
        guard bytes.count >= Self.headerSize, Array(bytes.prefix(8)) == Self.magic else { throw .notACheckpoint }
        let w = { (i: Int) in Self.word(bytes, at: bytes.startIndex + 8 * i) }
        let version = UInt32(truncatingIfNeeded: w(1))
        guard version == Self.version, w(1) >> 32 == UInt64(Self.entrySize) else { throw .version(version) }
        let count = w(6)
        // Counts up to 2^31 are read; the loader refuses more than its table keeps.
        guard count < 1 << 31, Self.fileSize(count: Int(count)) == fileSize else {
            throw .size(expected: count < 1 << 31 ? Self.fileSize(count: Int(count)) : -1, actual: fileSize)
        }
        self.init(end: Int64(bitPattern: w(2)), lastSeq: w(3), windowMs: Int64(bitPattern: w(4)),
            writtenAtMs: Int64(bitPattern: w(5)), count: Int(count))
    }

    public static func encode(_ entries: some Sequence<DedupTable.Entry>, into out: inout [UInt8]) {
        for e in entries {
            put(e.a, &out)
            put(e.b, &out)
        }
    }

    /// Entries from `bytes` (a whole number of them).
    public static func decode(_ bytes: ArraySlice<UInt8>, _ body: (DedupTable.Entry) -> Void) {
        bytes.withUnsafeBytes { raw in
            var i = 0
            while i + entrySize <= raw.count {
                body(DedupTable.Entry(a: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)),
                    b: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))))
                i += entrySize
            }
        }
    }

    public static func put(_ w: UInt64, _ out: inout [UInt8]) {
        for k in 0..<8 { out.append(UInt8(truncatingIfNeeded: w >> (8 * k))) }
    }

    public static func word(_ bytes: ArraySlice<UInt8>, at i: Int) -> UInt64 {
        var w: UInt64 = 0
        for k in (0..<8).reversed() { w = w << 8 | UInt64(bytes[i + k]) }
        return w
    }

    /// A 64-bit checksum over 8-byte words, fed in pieces that are multiples of 8 bytes.
    /// Not cryptographic: it detects torn and corrupted files.
    public struct Checksum: Sendable {
        public private(set) var value: UInt64 = 0x5350_5044_4544_5550

        public init() {}

        public mutating func add(_ bytes: ArraySlice<UInt8>) {
            var v = value
            bytes.withUnsafeBytes { raw in
                var i = 0
                while i + 8 <= raw.count {
                    let x = v ^ (UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15)
                    v = (x << 27 | x >> 37) &* 0x94D0_49BB_1331_11EB
                    i += 8
                }
            }
            value = v
        }

        public var final: UInt64 { value ^ value >> 31 }
    }
}
