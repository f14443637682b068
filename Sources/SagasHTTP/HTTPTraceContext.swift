import Foundation
public import Sagas

/// W3C Trace Context for a step attempt: the trace is the saga, the span is one attempt.
public enum HTTPTraceContext {
    /// `00-<trace id>-<span id>-01`: the trace id (32 hex digits) derived from the saga id, the span id (16 hex
    /// digits) from the saga id, step, phase and attempt. The same inputs always give the same header.
    public static func traceparent(sagaID: String, step: String, phase: StepPhase, attempt: Int) -> String {
        "00-\(traceID(sagaID: sagaID))-\(spanID(sagaID: sagaID, step: step, phase: phase, attempt: attempt))-01"
    }

    /// 32 lowercase hex digits, never all zero.
    public static func traceID(sagaID: String) -> String {
        let high = hash(sagaID, seed: 0x9E37_79B9_7F4A_7C15)
        let low = hash(sagaID, seed: 0xC2B2_AE3D_27D4_EB4F)
        return hex(high) + hex(low == 0 && high == 0 ? 1 : low)
    }

    /// 16 lowercase hex digits, never all zero.
    public static func spanID(sagaID: String, step: String, phase: StepPhase, attempt: Int) -> String {
        let value = hash("\(sagaID)\u{0}\(step)\u{0}\(phase.rawValue)\u{0}\(attempt)", seed: 0x1656_67B1_9E37_79F9)
        return hex(value == 0 ? 1 : value)
    }

    /// FNV-1a over the UTF-8 bytes, then a SplitMix64 finalizer to spread the bits.
    static func hash(_ text: String, seed: UInt64) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for byte in text.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        h ^= h >> 30
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27
        h = h &* 0x94D0_49BB_1331_11EB
        h ^= h >> 31
        return h
    }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
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
