public import Foundation

/// Durable timers: when a `sleep` or `sleepUntil` action's wait ends.
public enum SagaTimer {
    /// Parses an ISO 8601 time with or without fractional seconds (`2026-12-24T18:00:00Z`,
    /// `2026-12-24T18:00:00.250+01:00`).
    public static func parseTime(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let d = plain.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// When a timer action that starts at `now` ends: `spec` is the action's spec with its templates resolved.
    ///
    /// - Throws: `.templateError` when the value is not a duration (`sleep`) or a time (`sleepUntil`).
    public static func deadline(kind: StepAction.Kind, spec: JSONValue, now: Date) throws(SagaError) -> Date {
        guard let text = spec.stringValue else {
            throw SagaError(.templateError, "'\(kind.rawValue)' must give a string, got \(spec.jsonString)")
        }
        if kind == .sleep {
            guard let d = SagaDuration.parse(text) else {
                throw SagaError(.templateError, "'sleep' is not a duration: \"\(EchoedText.clip(text))\"")
            }
            return now.addingTimeInterval(Double(SagaDuration.milliseconds(d)) / 1000)
        }
        guard let at = parseTime(text) else {
            throw SagaError(.templateError, "'sleepUntil' is not an ISO 8601 time: \"\(EchoedText.clip(text))\"")
        }
        return at
    }
}
