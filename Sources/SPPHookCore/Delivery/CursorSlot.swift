// SPDX-License-Identifier: MIT

/// The format of a sink cursor file: two 64-byte slots, each a JSON line
/// `{"seq":N,"offset":B,"check":C}` padded with spaces, `C` an FNV-1a check of the two
/// numbers. A slot torn by a crash fails its check; loading takes the valid slot with the
/// higher seq.
public enum CursorSlot {
    public static let size = 64

    public static func encode(seq: UInt64, offset: Int64) -> [UInt8] {
        var text = Array("{\"seq\":\(seq),\"offset\":\(offset),\"check\":\(check(seq, offset))}".utf8)
        // At most 20 + 20 + 10 digits and 30 bytes of syntax: always fits.
        precondition(text.count < size)
        text += [UInt8](repeating: 0x20, count: size - 1 - text.count)
        text.append(0x0A)
        return text
    }

    /// The valid slot with the higher seq in a cursor file's bytes, and which slot it is. A
    /// slot without a check (a file written by hand) is taken as it is.
    public static func best(in bytes: [UInt8]) -> (seq: UInt64, offset: Int64, slot: Int)? {
        var best: (seq: UInt64, offset: Int64, slot: Int)?
        for (slot, line) in bytes.split(separator: 0x0A).prefix(2).enumerated() {
            guard case .object(let o)? = try? JSONParser.parse(Array(line)), case .number(let s)? = o["seq"],
                let seq = UInt64(s), case .number(let b)? = o["offset"], let offset = Int64(b)
            else { continue }
            if case .number(let c)? = o["check"], UInt32(c) != check(seq, offset) { continue }
            if best.map({ seq > $0.seq }) ?? true { best = (seq, offset, slot) }
        }
        return best
    }

    /// FNV-1a over the two numbers: catches a slot torn by a crash.
    public static func check(_ seq: UInt64, _ offset: Int64) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in "\(seq):\(offset)".utf8 {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return h
    }
}
