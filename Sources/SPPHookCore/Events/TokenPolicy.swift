// SPDX-License-Identifier: MIT

/// The rule for checking SPP's body `token` against an endpoint's configured tokens.
///
/// The comparison takes time that depends only on the lengths involved, never on where
/// the first differing byte is, and every configured token is compared (no early exit),
/// so timing reveals neither a token's prefix nor which of several rotated tokens matched.
public struct TokenPolicy: Sendable {
    private let tokens: [[UInt8]]

    public init(tokens: [String]) {
        self.tokens = tokens.map { Array($0.utf8) }
    }

    public var isEmpty: Bool { tokens.isEmpty }

    public func accepts(_ presented: String) -> Bool {
        let p = Array(presented.utf8)
        var matched: UInt8 = 0
        for t in tokens {
            matched |= Self.constantTimeEquals(t, p) ? 1 : 0
        }
        return matched == 1
    }

    /// Equal lengths and equal bytes, in time that depends only on the lengths.
    @inline(never)
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var diff: UInt8 = a.count == b.count ? 0 : 1
        let n = max(a.count, b.count)
        for i in 0..<n {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            diff |= x ^ y
        }
        return diff == 0
    }
}
