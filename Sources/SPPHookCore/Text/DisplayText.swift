// SPDX-License-Identifier: MIT

/// Text from outside (event fields, a hook's output, a body's bytes) made safe to show a
/// person: control characters become visible escapes, so nothing can move the cursor,
/// clear the screen, retitle the terminal (OSC), forge a new line or reorder text.
/// Machine output (`--json`, the log itself) never goes through this: it stays exact.
public enum DisplayText {
    public static func sanitized(_ text: some StringProtocol) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x100:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
        }
        return out
    }

    /// C0 controls, DEL, C1 controls (0x9B is a one-byte CSI), line and paragraph
    /// separators, and the bidirectional overrides and isolates.
    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
