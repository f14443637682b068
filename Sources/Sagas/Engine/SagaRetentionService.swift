public import Foundation
public import Logging
public import ServiceLifecycle

/// Deletes the journals of sagas that finished longer ago than a retention period, on a schedule, until graceful
/// shutdown (`saga worker --retention 30d`). Sagas waiting for a person and sagas still running are never deleted.
public struct SagaRetentionService: Service {
    /// What to keep and how often to look.
    public struct Configuration: Sendable {
        /// Finished sagas older than this (by the time they finished) are deleted.
        public var retention: Duration
        /// The time between passes.
        public var interval: Duration
        /// Sagas deleted per transaction, so a pass never holds the writer for long.
        public var batchSize: Int

        public init(retention: Duration, interval: Duration = .seconds(600), batchSize: Int = 1000) {
            self.retention = retention
            self.interval = interval
            self.batchSize = batchSize
        }
    }

    let store: any SagaStorePurging
    let configuration: Configuration
    let logger: Logger
    let clock: any Clock<Duration>
    let now: @Sendable () -> Date

    public init(
        store: any SagaStorePurging,
        configuration: Configuration,
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.now = now
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let deleted = try await pass()
                    if deleted > 0 { logger.notice("retention: deleted \(deleted) finished sagas") }
                } catch is CancellationError {
                    return
                } catch {
                    logger.error("retention pass failed: \(error)")
                }
                do {
                    try await clock.sleep(for: configuration.interval)
                } catch {
                    return
                }
            }
        }
    }

    /// One pass: deletes finished sagas older than the retention period, a batch at a time.
    ///
    /// - Returns: how many sagas were deleted.
    public func pass() async throws -> Int {
        let seconds = Double(SagaDuration.milliseconds(configuration.retention)) / 1000
        let cutoff = now().addingTimeInterval(-seconds)
        var total = 0
        while !Task.isCancelled {
            let deleted = try await store.purge(
                finishedBefore: cutoff, limit: configuration.batchSize, dryRun: false
            )
            total += deleted
            if deleted < configuration.batchSize { break }
            await Task.yield()
        }
        return total
    }
}
