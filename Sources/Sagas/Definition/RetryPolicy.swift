/// How often and how fast a step (or a compensation, or a probe) is tried again after a failure.
public struct RetryPolicy: Sendable, Hashable {
    /// How the delay between attempts is randomized.
    public enum Jitter: String, Sendable, Hashable, CaseIterable {
        /// A delay drawn uniformly between zero and the computed backoff ("full jitter").
        case full
        /// Exactly the computed backoff.
        case none
    }

    /// Attempts in all, the first included. At least 1.
    public var maxAttempts: Int
    /// The delay before the second attempt.
    public var initialInterval: Duration
    /// Each further delay is the previous one times this (at least 1).
    public var backoffCoefficient: Double
    /// No delay is longer than this.
    public var maxInterval: Duration
    public var jitter: Jitter

    public init(
        maxAttempts: Int = 3,
        initialInterval: Duration = .seconds(1),
        backoffCoefficient: Double = 2,
        maxInterval: Duration = .seconds(60),
        jitter: Jitter = .full
    ) {
        self.maxAttempts = maxAttempts
        self.initialInterval = initialInterval
        self.backoffCoefficient = backoffCoefficient
        self.maxInterval = maxInterval
        self.jitter = jitter
    }

    /// The default for a step's action: 3 attempts, 1s, doubling, at most 1m, full jitter.
    public static let defaultAction = RetryPolicy()
    /// The default for a compensation: 5 attempts, 1s, doubling, at most 1m, full jitter.
    public static let defaultCompensation = RetryPolicy(maxAttempts: 5)
    /// The default timeout of one attempt.
    public static let defaultTimeout: Duration = .seconds(30)

    /// The delay before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    ///
    /// - Parameter unit: a number in `0..<1` used for jitter. The engine derives it from the saga, step and
    ///   attempt, so that replaying a journal computes the same delay.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Duration {
        let base = SagaDuration.milliseconds(initialInterval)
        let cap = SagaDuration.milliseconds(maxInterval)
        var millis = Double(base)
        if attempt > 1 {
            millis *= pow(backoffCoefficient, Double(min(attempt - 1, 64)))
        }
        millis = min(millis, Double(cap))
        if jitter == .full {
            millis *= max(0, min(unit, 1))
        }
        return .milliseconds(Int64(millis.rounded()))
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var i = 0.0
    while i < exponent {
        result *= base
        if result > 1e18 { return result }
        i += 1
    }
    return result
}
