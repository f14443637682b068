import Foundation
public import Sagas

/// W3C Trace Context for a step attempt without a tracer: the trace is the saga's (journaled at start, or derived
/// from its id: `SagaTraceContext`), the span id is derived from the saga id, step, phase and attempt. With a tracer
/// (`SagaEngine.use(tracer:)`), the attempt's own span's `traceparent` (`StepContext.traceparent`) is sent instead.
public enum HTTPTraceContext {
    /// `00-<trace id>-<span id>-01`. The same inputs always give the same header.
    public static func traceparent(
        sagaID: String,
        step: String,
        phase: StepPhase,
        attempt: Int,
        trace: SagaTraceContext? = nil
    ) -> String {
        let traceID = (trace ?? SagaTraceContext.derived(sagaID: sagaID)).traceID
        return "00-\(traceID)-\(spanID(sagaID: sagaID, step: step, phase: phase, attempt: attempt))-01"
    }

    /// The trace id of a saga started without a `traceparent`: 32 lowercase hex digits, never all zero.
    public static func traceID(sagaID: String) -> String {
        SagaTraceContext.derived(sagaID: sagaID).traceID
    }

    /// 16 lowercase hex digits, never all zero.
    public static func spanID(sagaID: String, step: String, phase: StepPhase, attempt: Int) -> String {
        SagaTraceContext.derivedSpanID("\(sagaID)\u{0}\(step)\u{0}\(phase.rawValue)\u{0}\(attempt)")
    }

    /// What an attempt sends: `StepContext.propagatedTraceparent`.
    public static func traceparent(for context: StepContext) -> String {
        context.propagatedTraceparent
    }
}

/// Parses `Retry-After`: delay seconds, or an HTTP date.
enum HTTPRetryAfter {
    static func parse(_ value: String, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) {
                let seconds = max(0, date.timeIntervalSince(now))
                return .milliseconds(Int64((seconds * 1000).rounded(.up)))
            }
        }
        return nil
    }
}
