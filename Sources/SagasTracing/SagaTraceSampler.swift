public import Sagas

/// Which sagas ``SagaDistributedTracer`` traces: decided once per run of a saga, before any span is made, so a saga
/// that is not sampled costs no span at all (its attempts pass on a `traceparent` with the not-sampled flag `00`).
///
/// The samplers of the OpenTelemetry specification, read from `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`
/// by ``init(environment:)``:
///
/// | `OTEL_TRACES_SAMPLER` | a saga is traced when |
/// | --- | --- |
/// | `always_on` | always |
/// | `always_off` | never |
/// | `traceidratio` | its trace id falls in the ratio `OTEL_TRACES_SAMPLER_ARG` (default 1.0) |
/// | `parentbased_always_on` (the default) | it was started with a sampled `traceparent`, or without one |
/// | `parentbased_always_off` | it was started with a sampled `traceparent` |
/// | `parentbased_traceidratio` | it was started with a sampled `traceparent`, or without one and its trace id falls in the ratio |
///
/// The parent of a saga is the caller's `traceparent` it was started with; a saga started without one is a root,
/// decided by the root sampler on the trace derived from its id. The ratio test is the one swift-otel's
/// `traceidratio` sampler makes (the trace id's last 8 bytes, read as swift-otel reads them, below
/// `ratio × UInt64.max`), so a saga's spans and the spans swift-otel samples on its own agree, and every worker
/// that runs the saga decides the same.
public struct SagaTraceSampler: Sendable, Hashable, CustomStringConvertible {
    /// How a trace without a caller's decision is sampled.
    public enum Root: Sendable, Hashable {
        case alwaysOn
        case alwaysOff
        /// A share of the traces between 0 and 1, chosen by trace id.
        case traceIDRatio(Double)
    }

    /// The sampler of root traces (or of every trace when not ``parentBased``).
    public var root: Root
    /// Whether a caller's `traceparent` decides (its sampled flag) before ``root``.
    public var parentBased: Bool

    public init(root: Root, parentBased: Bool) {
        if case .traceIDRatio(let ratio) = root {
            self.root = .traceIDRatio(Swift.min(1, Swift.max(0, ratio.isNaN ? 1 : ratio)))
        } else {
            self.root = root
        }
        self.parentBased = parentBased
    }

    /// Every saga traced.
    public static let alwaysOn = SagaTraceSampler(root: .alwaysOn, parentBased: false)
    /// The OpenTelemetry default: the caller decides; sagas started without a `traceparent` are traced.
    public static let parentBasedAlwaysOn = SagaTraceSampler(root: .alwaysOn, parentBased: true)

    /// The sampler the standard variables ask for, and a description of what was wrong with them (unknown names,
    /// a ratio that is not a number between 0 and 1), which the caller logs; the default applies in place of a
    /// value it could not read, as the specification asks.
    public static func parse(sampler: String?, argument: String?) -> (sampler: SagaTraceSampler, problem: String?) {
        let name = (sampler ?? "").trimmingSpaces().lowercased()
        var problem: String?
        func ratio() -> Double {
            guard let text = argument?.trimmingSpaces(), !text.isEmpty else { return 1 }
            guard let value = Double(text), value >= 0, value <= 1 else {
                problem = "OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1, not '\(text)'; using 1.0"
                return 1
            }
            return value
        }
        switch name {
        case "always_on": return (SagaTraceSampler(root: .alwaysOn, parentBased: false), nil)
        case "always_off": return (SagaTraceSampler(root: .alwaysOff, parentBased: false), nil)
        case "traceidratio":
            let value = ratio()
            return (SagaTraceSampler(root: .traceIDRatio(value), parentBased: false), problem)
        case "", "parentbased_always_on": return (.parentBasedAlwaysOn, nil)
        case "parentbased_always_off": return (SagaTraceSampler(root: .alwaysOff, parentBased: true), nil)
        case "parentbased_traceidratio":
            let value = ratio()
            return (SagaTraceSampler(root: .traceIDRatio(value), parentBased: true), problem)
        default:
            return (
                .parentBasedAlwaysOn,
                "OTEL_TRACES_SAMPLER '\(name)' is not supported (always_on, always_off, traceidratio, "
                    + "parentbased_always_on, parentbased_always_off, parentbased_traceidratio); using parentbased_always_on"
            )
        }
    }

    /// The sampler of `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` in `environment`, and what was wrong with
    /// them (see ``parse(sampler:argument:)``).
    public static func from(environment: [String: String]) -> (sampler: SagaTraceSampler, problem: String?) {
        parse(sampler: environment["OTEL_TRACES_SAMPLER"], argument: environment["OTEL_TRACES_SAMPLER_ARG"])
    }

    /// Whether a run of saga `sagaID`, whose trace context is `parent`, is traced.
    public func isSampled(sagaID: String, parent: SagaTraceContext) -> Bool {
        guard parentBased else { return Self.decide(root, traceID: parent.traceID) }
        // A trace derived from the saga id carries the sampled flag without anyone having decided: it is a root.
        if case .alwaysOn = root { return parent.isSampled }
        guard parent.isSampled else { return false }
        if parent == SagaTraceContext.derived(sagaID: sagaID) { return Self.decide(root, traceID: parent.traceID) }
        return true
    }

    static func decide(_ root: Root, traceID: String) -> Bool {
        switch root {
        case .alwaysOn: return true
        case .alwaysOff: return false
        case .traceIDRatio(let ratio):
            if ratio <= 0 { return false }
            if ratio >= 1 { return true }
            return ratioValue(traceID: traceID) < UInt64(ratio * Double(UInt64.max))
        }
    }

    /// The trace id's bytes 8 to 15 as one little-endian number, as swift-otel's ratio sampler loads them (on the
    /// little-endian machines Swift on Linux runs on).
    static func ratioValue(traceID: String) -> UInt64 {
        let digits = Array(traceID.utf8)
        guard digits.count == 32 else { return 0 }
        var value: UInt64 = 0
        for index in 0..<8 {
            let high = hexDigit(digits[16 + 2 * index])
            let low = hexDigit(digits[17 + 2 * index])
            value |= UInt64(high << 4 | low) << (8 * UInt64(index))
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8 {
        switch byte {
        case 48...57: byte - 48
        case 97...102: byte - 87
        case 65...70: byte - 55
        default: 0
        }
    }

    public var description: String {
        let prefix = parentBased ? "parentbased_" : ""
        switch root {
        case .alwaysOn: return prefix + "always_on"
        case .alwaysOff: return prefix + "always_off"
        case .traceIDRatio(let ratio): return prefix + "traceidratio(\(ratio))"
        }
    }
}

extension SagaTraceContext {
    /// Whether the flags say the caller sampled the trace.
    var isSampled: Bool {
        guard let value = UInt8(flags, radix: 16) else { return false }
        return value & 1 == 1
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" { text = text.dropFirst() }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        return String(text)
    }
}
