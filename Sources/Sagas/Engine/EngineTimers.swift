import Synchronization

/// The engine's timers, all served by one task: attempt timeouts, retry wake-ups and lease renewal.
///
/// A saga step used to start a timer task of its own for its timeout, and each saga another for its wake-ups; with
/// thousands of steps a second, arming and cancelling those cost more than the steps. Here a timer is an entry in a
/// table, and one task (started when the first entry is added, ended when the table is empty) sleeps on the
/// engine's clock until the earliest entry is due, and fires what is due. Scheduling an entry due before that
/// wakes the task early. Nothing is polled: an engine whose only timer is an hour away sleeps for an hour.
final class EngineTimers: Sendable {
    /// Names a scheduled timer, to cancel it.
    struct Token: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private struct Entry {
        var due: Duration
        var fire: @Sendable () -> Void
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var lastID: UInt64 = 0
        var running = false
        /// When the serving task will next look, while it sleeps.
        var plannedWake: Duration?
        /// The serving task's early wake-up, while it sleeps.
        var doorbell: CheckedContinuation<Void, Never>?
        /// Rung while the task was not sleeping: its next sleep ends at once.
        var rung = false
    }

    private let state = Mutex(State())
    /// Time since the timers were made, on the engine's clock.
    private let elapsed: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
    }

    /// Calls `fire` once, `delay` from now, unless cancelled first.
    @discardableResult
    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> Token {
        let due = elapsed() + max(.zero, delay)
        let (token, startTask, doorbell) = state.withLock { s -> (Token, Bool, CheckedContinuation<Void, Never>?) in
            s.lastID += 1
            s.entries[s.lastID] = Entry(due: due, fire: fire)
            let start = !s.running
            s.running = true
            // Due before the sleeping task will look: wake it.
            var doorbell: CheckedContinuation<Void, Never>?
            if !start, s.plannedWake.map({ due < $0 }) ?? false {
                s.plannedWake = nil
                doorbell = s.doorbell
                s.doorbell = nil
                if doorbell == nil { s.rung = true }
            }
            return (Token(id: s.lastID), start, doorbell)
        }
        doorbell?.resume()
        if startTask {
            Task { await self.serve() }
        }
        return token
    }

    /// Cancels a timer; nothing happens if it already fired.
    func cancel(_ token: Token) {
        _ = state.withLock { $0.entries.removeValue(forKey: token.id) }
    }

    /// How many timers are waiting (for tests).
    var pending: Int { state.withLock { $0.entries.count } }

    private func serve() async {
        while true {
            let wait: Duration? = state.withLock { s in
                guard let earliest = s.entries.values.lazy.map(\.due).min() else {
                    s.running = false
                    return nil
                }
                s.plannedWake = earliest
                return earliest - elapsed()
            }
            guard let wait else { return }
            if wait > .zero {
                await sleep(for: wait)
            }
            let now = elapsed()
            let due: [@Sendable () -> Void] = state.withLock { s in
                s.plannedWake = nil
                // In the order they fell due (then scheduled), however late the task woke.
                let ready = s.entries.filter { $0.value.due <= now }
                    .sorted { ($0.value.due, $0.key) < ($1.value.due, $1.key) }
                for (id, _) in ready { s.entries[id] = nil }
                return ready.map(\.value.fire)
            }
            for fire in due { fire() }
        }
    }

    /// Sleeps for `duration`, or until an earlier timer rings the doorbell.
    private func sleep(for duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            let sleep = self.sleep
            group.addTask { try? await sleep(duration) }
            group.addTask { await self.waitForDoorbell() }
            await group.next()
            group.cancelAll()
            // The doorbell's waiter ends on cancellation; so does the sleep.
            let waiter = self.state.withLock { s in
                defer { s.doorbell = nil }
                return s.doorbell
            }
            waiter?.resume()
        }
    }

    private func waitForDoorbell() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ringNow = state.withLock { s in
                    if s.rung || Task.isCancelled {
                        s.rung = false
                        return true
                    }
                    s.doorbell = continuation
                    return false
                }
                if ringNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                defer { s.doorbell = nil }
                return s.doorbell
            }
            waiter?.resume()
        }
    }
}

/// What wakes a saga's drive loop: an attempt's outcome, a timer, or a nudge to look at the engine's state again
/// (a cancel request, a lost lease, shutdown).
final class DriveMailbox: Sendable {
    enum Event: Sendable {
        case attempt(AttemptResult)
        /// Look at the engine's state again (a cancel request, a lost lease, shutdown).
        case wake
        /// The drive's retry timer with this number fired.
        case timer(Int)
    }

    private struct State {
        var events: [Event] = []
        var waiter: CheckedContinuation<Event?, Never>?
        var cancelled = false
    }

    private let state = Mutex(State())

    func post(_ event: Event) {
        let waiter: CheckedContinuation<Event?, Never>? = state.withLock { s in
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter
            }
            if case .wake = event, s.events.contains(where: { if case .wake = $0 { true } else { false } }) {
                return nil
            }
            s.events.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    /// The next event; `nil` once the waiting task is cancelled.
    func next() async -> Event? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Event?, Never>) in
                let ready: Event?? = state.withLock { s in
                    if !s.events.isEmpty { return .some(s.events.removeFirst()) }
                    if s.cancelled { return .some(nil) }
                    s.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { s in
                s.cancelled = true
                defer { s.waiter = nil }
                return s.waiter
            }
            waiter?.resume(returning: nil)
        }
    }
}

/// Set when an attempt's timeout fired: its outcome is then "timed out", whatever the cancelled executor said.
final class TimeoutFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .releasing) }
    var isSet: Bool { flag.load(ordering: .acquiring) }
}
