/// When a failed delivery is tried again: a delay after each failed attempt, with jitter.
///
/// The default follows the Standard Webhooks recommendation: attempts at once, then 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h and 10 h after the previous failure: 8 attempts over about 27 hours. Each delay is multiplied by a random
/// factor in `1 ± jitter` so that receivers that come back are not hit by every sender at once.
public struct SagaWebhookRetrySchedule: Sendable, Hashable {
    /// The delay after the first, second, … failed attempt; after the last, the delivery fails for good.
    public var delays: [Duration]
    /// The relative jitter, 0 to 1. Default 0.2.
    public var jitter: Double

    public init(delays: [Duration], jitter: Double = 0.2) {
        self.delays = delays
        self.jitter = min(max(jitter, 0), 1)
    }

    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
    public static let standard = SagaWebhookRetrySchedule(delays: [
        .seconds(5), .seconds(300), .seconds(1800), .seconds(7200), .seconds(18_000), .seconds(36_000),
        .seconds(36_000),
    ])

    /// How many attempts a delivery gets in all.
    public var attempts: Int { delays.count + 1 }

    /// The delay after failed attempt number `attempt` (1-based), jittered; `nil` when it was the last.
    public func delay(afterAttempt attempt: Int, random: Double = Double.random(in: -1...1)) -> Duration? {
        guard attempt >= 1, attempt <= delays.count else { return nil }
        let base = delays[attempt - 1]
        let factor = 1 + jitter * min(max(random, -1), 1)
        return base * factor
    }
}
