// SPDX-License-Identifier: MIT
internal import COpenSSL

/// SHA-256 through the system OpenSSL (EVP API, not deprecated in 3.0).
public enum SHA256 {
    /// Fetched once: `EVP_sha256()` makes OpenSSL 3 look the implementation up on every call.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else { preconditionFailure("OpenSSL has no SHA-256") }
        return md
    }()

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        hash(parts: bytes)
    }

    /// The digest of the parts one after another (no concatenated copy).
    public static func hash(parts: [UInt8]...) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(ctx) }
        var ok = EVP_DigestInit_ex2(ctx, algorithm, nil) == 1
        for part in parts where ok {
            ok = part.withUnsafeBytes { EVP_DigestUpdate(ctx, $0.baseAddress, $0.count) } == 1
        }
        ok = ok && EVP_DigestFinal_ex(ctx, &digest, &length) == 1
        precondition(ok && length == 32, "SHA-256 failed")
        return digest
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
