/// Durations as workflow files spell them: a whole number and a unit, `250ms`, `5s`, `2m`, `1h`.
public enum SagaDuration {
    /// The longest duration a workflow file or a CLI option may give: `10000d` (about 27 years). The validator,
    /// the writer of pinned definitions (`SagaDefinition.json`) and the reader of pinned definitions all use this
    /// one limit, so a definition that validates always reloads: every duration up to it is written with at most
    /// 12 digits, which `parse` reads back.
    public static let maximum: Duration = .milliseconds(maximumMilliseconds)

    /// `maximum` in milliseconds: 864,000,000,000.
    public static let maximumMilliseconds: Int64 = 10_000 * 86_400_000

    /// `maximum` as a workflow file writes it.
    public static let maximumText = "10000d"

    /// Parses `"250ms"`, `"5s"`, `"2m"`, `"1h"` (also `"1d"`) up to `maximum`; returns `nil` for anything else.
    public static func parse(_ text: String) -> Duration? {
        guard let ms = parseMilliseconds(text), ms <= maximumMilliseconds else { return nil }
        return .milliseconds(ms)
    }

    /// Whether `text` is spelled as a duration but is longer than `maximum` (for a precise error message).
    public static func exceedsMaximum(_ text: String) -> Bool {
        if let ms = parseMilliseconds(text) { return ms > maximumMilliseconds }
        // More digits than `parseMilliseconds` reads, or an overflow of Int64 milliseconds: still too long.
        for suffix in ["ms", "s", "m", "h", "d"] where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), number.contains(where: { $0 != "0" }) {
                return true
            }
        }
        return false
    }

    /// The milliseconds a well-formed duration of at most 12 digits names, or `nil` (also on Int64 overflow).
    private static func parseMilliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, millis) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept when the number part is all digits.
            guard !number.isEmpty, number.count <= 12, number.allSatisfy({ $0.isASCII && $0.isNumber }),
                let n = Int64(number)
            else { continue }
            let (total, overflow) = n.multipliedReportingOverflow(by: millis)
            return overflow ? nil : total
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

    /// A duration in seconds, as a `Double` (for rates, histograms and reports; not for journal times).
    public static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Whole milliseconds in a duration, saturating at the ends of Int64 (a `Duration` holds more).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = ms.addingReportingOverflow(attoseconds / 1_000_000_000_000_000)
        if overflow2 { return ms < 0 ? .min : .max }
        return total
    }
}
