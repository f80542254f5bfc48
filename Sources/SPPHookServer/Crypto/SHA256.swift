// SPDX-License-Identifier: MIT
internal import COpenSSL
import SPPHookCore
import SPPHookPOSIX

/// SHA-256 through the system OpenSSL (EVP API, not deprecated in 3.0).
/// SHA-256 through the system OpenSSL's low-level digest (`SHA256_Init`/`Update`/`Final`):
/// deprecated in OpenSSL 3 but shipped, and unlike the EVP API it does not load the
/// provider machinery (about 2 MiB of libcrypto resident) for the event id of every request.
public enum SHA256 {
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        hash(parts: bytes)
    }

    /// The digest of the parts one after another (no concatenated copy).
    public static func hash(parts: [UInt8]...) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var ctx = SHA256_CTX()
        var ok = SHA256_Init(&ctx) == 1
        for part in parts where ok {
            ok = part.withUnsafeBytes { SHA256_Update(&ctx, $0.baseAddress, $0.count) } == 1
        }
        ok = ok && SHA256_Final(&digest, &ctx) == 1
        precondition(ok, "SHA-256 failed")
        return digest
    }

    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            var i = 0
            for b in bytes {
                out[i] = .hexDigit(b >> 4)
                out[i + 1] = .hexDigit(b & 0xF)
                i += 2
            }
            return i
        }
    }

}
