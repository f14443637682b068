/// A W3C Trace Context `traceparent` (`00-TRACEID-SPANID-FLAGS`): where a saga's spans belong.
///
/// A saga started with a caller's `traceparent` journals it in its `saga.started` event, so that every worker that
/// runs the saga (after a crash, another one) parents its spans on the caller's. A saga started without one has a
/// trace derived from its id (``derived(sagaID:)``): every worker computes the same, so its spans form one trace too.
public struct SagaTraceContext: Sendable, Hashable, CustomStringConvertible {
    /// 32 lowercase hex digits, not all zero.
    public var traceID: String
    /// 16 lowercase hex digits, not all zero.
    public var spanID: String
    /// Two hex digits; `01` is sampled.
    public var flags: String

    /// Parses a `traceparent` header value (version `00`; later versions are read as `00`, as the spec asks);
    /// `nil` when it is malformed or its ids are all zero.
    public init?(traceparent: String) {
        let parts = traceparent.lowercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 4, parts[0].count == 2, Self.isHex(parts[0]), parts[0] != "ff",
            parts[1].count == 32, Self.isHex(parts[1]), parts[1] != String(repeating: "0", count: 32),
            parts[2].count == 16, Self.isHex(parts[2]), parts[2] != String(repeating: "0", count: 16),
            parts[3].count == 2, Self.isHex(parts[3])
        else { return nil }
        if parts[0] == "00" && parts.count != 4 { return nil }
        self.traceID = parts[1]
        self.spanID = parts[2]
        self.flags = parts[3]
    }

    public init(traceID: String, spanID: String, flags: String = "01") {
        self.traceID = traceID
        self.spanID = spanID
        self.flags = flags
    }

    /// The header value.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(flags)" }
    public var description: String { traceparent }

    /// The trace of a saga started without a `traceparent`: a trace id and a root span id derived from the saga id.
    public static func derived(sagaID: String) -> SagaTraceContext {
        let high = hash(sagaID, seed: 0x9E37_79B9_7F4A_7C15)
        let low = hash(sagaID, seed: 0xC2B2_AE3D_27D4_EB4F)
        return SagaTraceContext(
            traceID: hex(high) + hex(low == 0 && high == 0 ? 1 : low),
            spanID: derivedSpanID("\(sagaID)\u{0}saga")
        )
    }

    /// The trace context a saga's journal gives: the `traceparent` of its `saga.started` event, else the derived one.
    public static func of(sagaID: String, started: SagaEvent?) -> SagaTraceContext {
        if let text = started?.data?["traceparent"]?.stringValue, let journaled = SagaTraceContext(traceparent: text) {
            return journaled
        }
        return derived(sagaID: sagaID)
    }

    /// 16 hex digits derived from `text`, never all zero.
    public static func derivedSpanID(_ text: String) -> String {
        let value = hash(text, seed: 0x1656_67B1_9E37_79F9)
        return hex(value == 0 ? 1 : value)
    }

    private static func isHex(_ text: String) -> Bool {
        text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
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

extension StepContext {
    /// The `traceparent` an executor passes on: the attempt's span's when the engine traces, else one in the saga's
    /// trace (``sagaTrace``, or the trace derived from the saga id) with a span id derived from the saga id, step,
    /// phase and attempt: the same on every worker.
    public var propagatedTraceparent: String {
        if let traceparent { return traceparent }
        let trace = sagaTrace ?? SagaTraceContext.derived(sagaID: sagaID)
        let span = SagaTraceContext.derivedSpanID("\(sagaID)\u{0}\(step)\u{0}\(phase.rawValue)\u{0}\(attempt)")
        return "00-\(trace.traceID)-\(span)-01"
    }
}
