public import Foundation

/// A saga's journal as it grows: every event after `after`, then each new one as it commits, until the saga is
/// finished (`completed`, `compensated`, `failed`). Polls the store (each poll reads the saga's record, and its
/// events only when the record shows new ones), so it works across processes: `saga show --follow`.
public struct SagaEventFeed: AsyncSequence, Sendable {
    public typealias Element = SagaEvent

    let store: any SagaStore
    let sagaID: String
    let after: Int
    let pollInterval: Duration
    let clock: any Clock<Duration>

    public func makeAsyncIterator() -> Iterator {
        Iterator(feed: self, lastSeq: after)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let feed: SagaEventFeed
        var lastSeq: Int
        var buffered: [SagaEvent] = []
        var finished = false

        public mutating func next() async throws -> SagaEvent? {
            while true {
                if !buffered.isEmpty { return buffered.removeFirst() }
                if finished { return nil }
                try Task.checkCancellation()
                guard let record = try await feed.store.saga(id: feed.sagaID) else {
                    throw SagaError.notFound(feed.sagaID)
                }
                if record.lastSeq > lastSeq {
                    buffered = try await feed.store.events(sagaID: feed.sagaID).filter { $0.seq > lastSeq }
                    lastSeq = buffered.last?.seq ?? lastSeq
                }
                if record.status.isTerminal && record.lastSeq <= lastSeq {
                    finished = true
                    continue
                }
                if buffered.isEmpty { try await feed.clock.sleep(for: feed.pollInterval) }
            }
        }
    }
}

extension SagaEngine {
    /// The saga's events after number `after`, then each new one as it is journaled (by this process or any
    /// other), ending when the saga is finished.
    ///
    /// - Throws: (while iterating) `.sagaNotFound`; storage errors; `CancellationError` when the task is cancelled.
    public func follow(sagaID: String, after: Int = 0, pollInterval: Duration = .milliseconds(200)) -> SagaEventFeed {
        SagaEventFeed(store: store, sagaID: sagaID, after: after, pollInterval: pollInterval, clock: clock)
    }
}
