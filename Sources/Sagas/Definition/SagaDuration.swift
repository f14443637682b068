/// Durations as workflow files spell them: a whole number and a unit, `250ms`, `5s`, `2m`, `1h`.
public enum SagaDuration {
    /// Parses `"250ms"`, `"5s"`, `"2m"`, `"1h"` (also `"1d"`); returns `nil` for anything else.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when the number part is all digits.
            guard !number.isEmpty, number.count <= 12, number.allSatisfy({ $0.isASCII && $0.isNumber }),
                let n = Int64(number)
            else { continue }
            // "999999999999d" overflows Int64 milliseconds: not a duration.
            let (total, overflow) = n.multipliedReportingOverflow(by: millis)
            if overflow { return nil }
            return .milliseconds(total)
        }
        return nil
    }

    /// Formats a duration the way a person reads it: `250ms`, `1.5s`, `2m`, `1h30m`.
    public static func format(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms < 1000 { return "\(ms)ms" }
        if ms < 60_000 {
            let tenths = ms / 100
            return tenths % 10 == 0 ? "\(tenths / 10)s" : "\(tenths / 10).\(tenths % 10)s"
        }
        if ms < 3_600_000 {
            let s = ms / 1000
            return s % 60 == 0 ? "\(s / 60)m" : "\(s / 60)m\(s % 60)s"
        }
        let m = ms / 60_000
        return m % 60 == 0 ? "\(m / 60)h" : "\(m / 60)h\(m % 60)m"
    }

    /// Whole milliseconds in a duration.
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
