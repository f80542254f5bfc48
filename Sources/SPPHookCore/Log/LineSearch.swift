// SPDX-License-Identifier: MIT

/// Where to start reading a log for the lines whose key is at least a target, when keys do
/// not decrease along it (seq always; the receive time as long as the clock is not set back),
/// by bisecting byte positions: a few dozen line reads instead of the log from its start.
public enum LineSearch {
    /// A line as `probe` finds it: where it starts, where the next one starts, its key.
    public struct Line: Sendable, Equatable {
        public var start: Int64
        public var next: Int64
        public var key: Int64

        public init(start: Int64, next: Int64, key: Int64) {
            (self.start, self.next, self.key) = (start, next, key)
        }
    }

    /// The first line boundary in `start...end` before which every line's key is below
    /// `target` (`end` when every line's is). `start` and `end` are line boundaries;
    /// `probe(p)` gives the first event line starting at or after `p` (lines that are not
    /// events are passed over), nil when none starts before `end`.
    public static func firstLine(atLeast target: Int64, start: Int64, end: Int64, probe: (Int64) -> Line?) -> Int64 {
        var lo = start  // every line before lo has a key below target
        var hi = end  // the line at hi has a key of at least target, or hi is the end
        while lo < hi {
            let mid = lo + (hi - lo) / 2
            if let line = probe(mid), line.start < hi {
                if line.key >= target { hi = line.start } else { lo = line.next }
            } else {
                // No event line starts in [mid, hi): step over the first one from lo on.
                guard let line = probe(lo), line.start < hi, line.key < target else { return lo }
                lo = line.next
            }
        }
        return lo
    }
}
