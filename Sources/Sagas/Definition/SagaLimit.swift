/// A named limit on the attempts of the steps that use it (`"limits"` in a workflow file).
///
/// A name means one limit for every workflow and every worker on a database: `concurrency` bounds the attempts in
/// flight across all worker processes, `rate` the attempts that start, as one token bucket shared the same way.
/// A step uses a limit with `"limit": NAME`; its action, compensation and probe all count.
public struct SagaLimit: Sendable, Hashable {
    /// At most this many attempts in flight at once; `nil`: no bound.
    public var concurrency: Int?
    /// At most this many attempts started per period; `nil`: no bound.
    public var rate: SagaRate?

    public init(concurrency: Int? = nil, rate: SagaRate? = nil) {
        self.concurrency = concurrency
        self.rate = rate
    }

    /// The largest `concurrency` a limit may declare.
    public static let maxConcurrency = 10_000
    /// Limit names: 1 to 100 letters, digits, `.`, `_`, `-`.
    public static let maxNameLength = 100

    /// Whether `name` is a valid limit name.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= maxNameLength
            && name.unicodeScalars.allSatisfy { c in
                ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
                    || c == "." || c == "_" || c == "-"
            }
    }

    /// The limit as a workflow file writes it.
    public var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let concurrency { object["concurrency"] = .integer(concurrency) }
        if let rate { object["rate"] = .string(rate.text) }
        return .object(object)
    }

    /// `concurrency 8, rate 50/s`.
    public var summary: String {
        var parts: [String] = []
        if let concurrency { parts.append("concurrency \(concurrency)") }
        if let rate { parts.append("rate \(rate.text)") }
        return parts.joined(separator: ", ")
    }
}

/// A rate: `count` attempts per `period` (`"50/s"`, `"600/m"`, `"5/10s"`).
public struct SagaRate: Sendable, Hashable {
    /// Attempts per period, 1 to 1,000,000: also the bucket's size (the largest burst).
    public var count: Int
    /// At least 1 ms, at most 1 day.
    public var period: Duration

    public init(count: Int, period: Duration) {
        self.count = count
        self.period = period
    }

    /// Parses `COUNT/UNIT` where UNIT is `s`, `m`, `h` or a duration (`10s`, `500ms`); `nil` when invalid.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), (1...1_000_000).contains(count) else { return nil }
        let unit = String(parts[1])
        let period: Duration
        switch unit {
        case "s": period = .seconds(1)
        case "m": period = .seconds(60)
        case "h": period = .seconds(3600)
        default:
            guard let parsed = SagaDuration.parse(unit) else { return nil }
            period = parsed
        }
        guard period >= .milliseconds(1), period <= .seconds(86_400) else { return nil }
        self.count = count
        self.period = period
    }

    /// The period in milliseconds.
    public var periodMilliseconds: Int64 { SagaDuration.milliseconds(period) }

    /// The sliding window the stores count grants in: the period and a fifth more (at most 250 ms more). An attempt
    /// reaches its target a little after its grant, by a delay that varies (its start to journal, a process to
    /// start); the margin keeps the target from seeing more than `count` starts in one period because of it.
    public var windowMilliseconds: Int64 {
        let period = periodMilliseconds
        return period + min(period / 5, 250)
    }

    /// The rate as a workflow file writes it.
    public var text: String {
        switch periodMilliseconds {
        case 1000: "\(count)/s"
        case 60_000: "\(count)/m"
        case 3_600_000: "\(count)/h"
        default: "\(count)/\(SagaDuration.exact(period))"
        }
    }
}
