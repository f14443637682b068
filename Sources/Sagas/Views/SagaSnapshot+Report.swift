public import Foundation

extension SagaRecord {
    /// Whether a runnable saga has nobody working on it: no live lease, and no progress for `threshold`.
    public func isStuck(now: Date, threshold: TimeInterval = 15) -> Bool {
        guard status == .running || status == .compensating || status == .pending else { return false }
        return !hasLiveLease(now: now) && now.timeIntervalSince(updatedAt) > threshold
    }

    /// Whether a worker holds a lease on the saga that has not expired. A lease that ends more than
    /// `SagaDuration.maximum` after `now` is not one any worker took (`--lease` is at most that): it comes from a
    /// damaged row, and counts as expired, so that the saga is not held for ever.
    public func hasLiveLease(now: Date) -> Bool {
        guard owner != nil, let leaseExpiresAt else { return false }
        let ends = SagaTime.milliseconds(leaseExpiresAt)
        return ends > SagaTime.milliseconds(now) && ends <= SagaRecord.leaseHorizon(now: SagaTime.milliseconds(now))
    }

    /// The latest time (milliseconds since 1970) a lease taken at `now` may end: `now + SagaDuration.maximum`.
    public static func leaseHorizon(now: Int64) -> Int64 {
        now.addingReportingOverflow(SagaDuration.maximumMilliseconds).overflow ? .max : now + SagaDuration.maximumMilliseconds
    }
}
