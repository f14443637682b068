import Synchronization

/// Wake-up hints for an engine's idle worker slots (issue 16: PostgreSQL's LISTEN/NOTIFY). Only a hint: the slots
/// poll the store at `pollInterval` whether or not anything wakes them. Until a source calls
/// ``SagaEngine/wakeWorkers()``, an idle slot with a poll interval under a second sleeps on the clock alone, as
/// before. Graceful shutdown wakes them too.
final class WorkerWakeups: Sendable {
    private struct State {
        var enabled = false
        var generation = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    var isEnabled: Bool { state.withLock { $0.enabled } }

    func enable() { state.withLock { $0.enabled = true } }

    /// Ends every sleep in progress.
    func wake() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.generation += 1
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Sleeps for `duration` on `clock`, or until ``wake()``, whichever comes first.
    func sleep(for duration: Duration, clock: any Clock<Duration>) async throws {
        let generation = state.withLock { $0.generation }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await clock.sleep(for: duration) }
            group.addTask { await self.wait(after: generation) }
            _ = try await group.next()
            group.cancelAll()
        }
    }

    private func wait(after generation: Int) async {
        let id = state.withLock { s -> Int in
            s.nextID += 1
            return s.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if s.generation != generation || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

extension SagaEngine {
    /// Wakes this engine's idle worker slots now, so that they look for work before their next poll: call it when
    /// something says a saga became runnable (a PostgreSQL notification). From the first call on, idle slots
    /// sleep until the poll interval passes or the next call, whichever comes first.
    public func wakeWorkers() {
        wakeups.enable()
        wakeups.wake()
    }

    /// An idle slot's wait between two looks for work: until the poll interval passes, or a wake-up hint, or
    /// graceful shutdown (with a poll interval of a second or more, so that a slow poll does not delay a stop).
    func idleSleep() async throws {
        if wakeups.isEnabled || configuration.pollInterval >= .seconds(1) {
            try await wakeups.sleep(for: configuration.pollInterval, clock: clock)
        } else {
            try await clock.sleep(for: configuration.pollInterval)
        }
    }
}
