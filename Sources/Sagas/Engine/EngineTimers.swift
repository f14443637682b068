import Synchronization

/// The engine's timers, all served by one task: attempt timeouts, retry wake-ups, lease renewal and the parked
/// limit waiters' polls.
///
/// A saga step used to start a timer task of its own for its timeout, and each saga another for its wake-ups; with
/// thousands of steps a second, arming and cancelling those cost more than the steps. Here a timer is an entry in a
/// table, and one task sleeps on the engine's clock until the earliest entry is due, and fires what is due.
/// Scheduling an entry due before that wakes the task early. Nothing is polled: an engine whose only timer is an
/// hour away sleeps for an hour, and one with none sleeps until one is scheduled.
///
/// The serving task is a child of a *serving scope* (``serving(_:)``): the worker's `run()` is one, and so is every
/// drive that runs outside a worker (`execute`, `run(sagaID:)`). Each scope adds one standby child; one of them
/// serves while the others wait, and when the serving scope ends, a waiting one takes over. Timers scheduled while
/// no scope is open wait for the next one. A timer's work is either a call made in the serving task (it must
/// return at once) or a job (``scheduleJob(after:_:)``) run as a child of that task, so that ending the scope
/// cancels and awaits it: no timer work outlives the scope that served it.
final class EngineTimers: Sendable {
    /// Names a scheduled timer, to cancel it.
    struct Token: Hashable, Sendable {
        fileprivate let id: UInt64
    }

    private enum Work: Sendable {
        case call(@Sendable () -> Void)
        case job(@Sendable () async -> Void)
    }

    private struct Entry {
        var due: Duration
        var work: Work
    }

    private struct State {
        var entries: [UInt64: Entry] = [:]
        var lastID: UInt64 = 0
        /// A standby of an open scope serves the timers now.
        var serving = false
        /// Open serving scopes.
        var scopes = 0
        /// Standbys waiting for their turn to serve.
        var standbys: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var lastStandby: UInt64 = 0
        /// When the serving task will next look, while it sleeps; `nil` with `idle` while the table is empty.
        var plannedWake: Duration?
        /// The serving task sleeps with nothing scheduled: any new timer wakes it.
        var idle = false
        /// The serving task's early wake-up, while it sleeps.
        var doorbell: CheckedContinuation<Void, Never>?
        /// Rung while the task was not sleeping: its next sleep ends at once.
        var rung = false
    }

    /// The timers a scope opened by this task serves (inherited by its child tasks): a nested scope on the same
    /// timers adds nothing.
    @TaskLocal private static var servedHere: ObjectIdentifier?

    private let state = Mutex(State())
    /// Time since the timers were made, on the engine's clock.
    private let elapsed: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(clock: C) where C.Duration == Duration {
        let start = clock.now
        elapsed = { start.duration(to: clock.now) }
        sleep = { try await clock.sleep(for: $0) }
    }

    /// Calls `fire` once, `delay` from now, unless cancelled first. `fire` runs in the serving task: it must return
    /// at once (post to a mailbox, set a flag, cancel a task).
    @discardableResult
    func schedule(after delay: Duration, _ fire: @escaping @Sendable () -> Void) -> Token {
        add(.call(fire), after: delay)
    }

    /// Runs `job` once, `delay` from now, unless cancelled first, as a child task of the serving task: it is
    /// cancelled and awaited when the scope that serves it ends.
    @discardableResult
    func scheduleJob(after delay: Duration, _ job: @escaping @Sendable () async -> Void) -> Token {
        add(.job(job), after: delay)
    }

    private func add(_ work: Work, after delay: Duration) -> Token {
        let due = elapsed() + max(.zero, delay)
        let (token, doorbell) = state.withLock { s -> (Token, CheckedContinuation<Void, Never>?) in
            s.lastID += 1
            s.entries[s.lastID] = Entry(due: due, work: work)
            // Due before the sleeping task will look (or it sleeps with nothing to do): wake it.
            var doorbell: CheckedContinuation<Void, Never>?
            if s.idle || s.plannedWake.map({ due < $0 }) ?? false {
                s.idle = false
                s.plannedWake = nil
                doorbell = s.doorbell
                s.doorbell = nil
                if doorbell == nil { s.rung = true }
            }
            return (Token(id: s.lastID), doorbell)
        }
        doorbell?.resume()
        return token
    }

    /// Cancels a timer; nothing happens if it already fired.
    func cancel(_ token: Token) {
        _ = state.withLock { $0.entries.removeValue(forKey: token.id) }
    }

    /// How many timers are waiting (for tests).
    var pending: Int { state.withLock { $0.entries.count } }

    /// Runs `body` with the timers served by a child of this task (or of an enclosing scope on these timers), and
    /// returns once that child and every job it ran have ended.
    func serving<R>(_ body: () async throws -> R) async throws -> R {
        let me = ObjectIdentifier(self)
        if Self.servedHere == me, state.withLock({ $0.scopes > 0 }) { return try await body() }
        state.withLock { $0.scopes += 1 }
        defer { state.withLock { $0.scopes -= 1 } }
        return try await withThrowingTaskGroup(of: Void.self, returning: R.self) { group in
            group.addTask { await self.standBy() }
            do {
                let result = try await Self.$servedHere.withValue(me) { try await body() }
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// A scope's child: serves the timers when no other standby does, until its scope ends.
    private func standBy() async {
        while !Task.isCancelled {
            let lead = state.withLock { s -> Bool in
                guard !s.serving else { return false }
                s.serving = true
                return true
            }
            if lead {
                await serve()
                // Another open scope's standby takes over what is left.
                let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
                    s.serving = false
                    s.idle = false
                    s.plannedWake = nil
                    guard let id = s.standbys.keys.first else { return nil }
                    return s.standbys.removeValue(forKey: id)
                }
                next?.resume()
                return
            }
            await waitForTurn()
        }
    }

    private func waitForTurn() async {
        let id = state.withLock { s in
            s.lastStandby += 1
            return s.lastStandby
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { s -> Bool in
                    if !s.serving || Task.isCancelled { return true }
                    s.standbys[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.standbys.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Fires timers as they fall due until this task is cancelled, then awaits the jobs it started.
    private func serve() async {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                let wait: Duration? = state.withLock { s in
                    guard let earliest = s.entries.values.lazy.map(\.due).min() else {
                        s.idle = true
                        s.plannedWake = nil
                        return nil
                    }
                    s.idle = false
                    s.plannedWake = earliest
                    return earliest - elapsed()
                }
                if let wait {
                    if wait > .zero { await sleep(for: wait) }
                } else {
                    await waitForDoorbell()
                }
                if Task.isCancelled { break }
                let now = elapsed()
                let due: [Work] = state.withLock { s in
                    s.plannedWake = nil
                    s.idle = false
                    // In the order they fell due (then scheduled), however late the task woke.
                    let ready = s.entries.filter { $0.value.due <= now }
                        .sorted { ($0.value.due, $0.key) < ($1.value.due, $1.key) }
                    for (id, _) in ready { s.entries[id] = nil }
                    return ready.map(\.value.work)
                }
                for work in due {
                    switch work {
                    case .call(let fire): fire()
                    case .job(let job): group.addTask { await job() }
                    }
                }
            }
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
