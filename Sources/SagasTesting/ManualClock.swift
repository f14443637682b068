public import Foundation
import Sagas
import Synchronization

/// A clock that moves only when a test advances it, and a wall clock that moves with it: inject both into an engine
/// (`SagaEngine(store:configuration:logger:clock: clock, now: clock.wallClock)`) and an hour of retry backoff, a
/// lease expiry or a timeout passes in an instant, with no sleeping and no flakiness.
///
/// Sleepers wake in the order of their deadlines when ``advance(by:)`` reaches them; a cancelled sleeper throws
/// `CancellationError` at once.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Sendable {
        /// Time since the clock was made.
        public var offset: Duration

        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [UInt64: Sleeper] = [:]
    }

    private let state = Mutex(State())
    /// The wall-clock time at offset zero.
    public let start: Date

    public init(start: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        self.start = start
    }

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    /// Wall-clock time: `start` plus how far the clock has been advanced.
    public var date: Date {
        let offset = now.offset
        return start.addingTimeInterval(SagaDuration.seconds(offset))
    }

    /// ``date`` as the closure an engine takes for `now`.
    public var wallClock: @Sendable () -> Date {
        { [self] in self.date }
    }

    /// How many tasks sleep on the clock now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { s -> UInt64 in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: (any Error)?? = state.withLock { s in
                    if Task.isCancelled { return .some(CancellationError()) }
                    if deadline <= s.now { return .some(nil) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return .none
                }
                switch resumeNow {
                case .some(.some(let error)): continuation.resume(throwing: error)
                case .some(.none): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock (and ``date``) forward, waking every sleeper whose deadline it reaches, earliest first.
    public func advance(by duration: Duration) {
        let woken = state.withLock { s -> [Sleeper] in
            s.now = s.now.advanced(by: max(.zero, duration))
            let due = s.sleepers.filter { $0.value.deadline <= s.now }.sorted { $0.value.deadline < $1.value.deadline }
            for (id, _) in due { s.sleepers[id] = nil }
            return due.map(\.value)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    /// Waits (yielding, without sleeping on any clock) until at least `count` tasks sleep on this clock, or `limit`
    /// real seconds pass; returns whether they did.
    @discardableResult
    public func waitForSleepers(_ count: Int = 1, limit: TimeInterval = 10) async -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while sleepers < count {
            if Date() > deadline { return false }
            await Task.yield()
            try? await Task.sleep(nanoseconds: 1_000_000)
        }
        return true
    }
}
