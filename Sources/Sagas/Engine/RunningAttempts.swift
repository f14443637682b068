import Foundation
import Logging
import Synchronization

/// The attempts a drive loop has running, each a child task of the drive's task group with its timeout armed on the
/// engine's timers. The loop cancels them before it returns, and its task group awaits them, so no attempt outlives
/// the drive that started it (nor, in a worker, the worker's `run()`).
struct RunningAttempts {
    private struct Running {
        var task: AttemptTask
        var timeout: EngineTimers.Token
        var abandoned: TimeoutFlag
    }

    private var running: [Int: Running] = [:]
    private var lastID = 0

    var count: Int { running.count }

    mutating func start(
        _ plan: AttemptPlan,
        context: StepContext,
        definition: SagaDefinition,
        engine: SagaEngine,
        mailbox: DriveMailbox,
        in group: inout ThrowingDiscardingTaskGroup<any Error>
    ) {
        lastID += 1
        var numbered = plan
        numbered.id = lastID
        let plan = numbered
        let timedOut = TimeoutFlag()
        let abandoned = TimeoutFlag()
        let task = AttemptTask()
        group.addTask {
            await task.run {
                let result = await engine.attempt(
                    plan, context: context, action: definition, timedOut: timedOut, abandoned: abandoned
                )
                mailbox.post(.attempt(result))
            }
        }
        let timeout = engine.timers.schedule(after: plan.step.timeout) {
            timedOut.set()
            task.cancel()
        }
        running[plan.id] = Running(task: task, timeout: timeout, abandoned: abandoned)
    }

    /// Stops every running attempt (shutdown past its grace); each still posts its outcome, unknown.
    func abandonAll() {
        for attempt in running.values where !attempt.abandoned.isSet {
            attempt.abandoned.set()
            attempt.task.cancel()
        }
    }

    mutating func finished(_ result: AttemptResult, timers: EngineTimers) {
        if let done = running.removeValue(forKey: result.plan.id) {
            timers.cancel(done.timeout)
        }
    }

    /// Cancels every running attempt and its timeout; the drive's task group then awaits their tasks.
    mutating func cancelAll(timers: EngineTimers) {
        let all = running.values
        running = [:]
        for attempt in all {
            timers.cancel(attempt.timeout)
            attempt.task.cancel()
        }
    }
}

/// Cancels one attempt's task on its own: a task group gives no handle per child, and an attempt must be stopped
/// when its timeout fires or the shutdown grace runs out, while the drive and its other attempts go on.
///
/// The child registers its task while it runs and removes it, under the same lock, before it returns; `cancel()`
/// uses the handle only under that lock, so never after the task ended. A cancel that comes before the child
/// started is kept and applied when it starts.
final class AttemptTask: Sendable {
    /// `UnsafeCurrentTask` is not `Sendable`: it may be used only while its task lives, which the lock ensures.
    private struct Handle: @unchecked Sendable {
        let task: UnsafeCurrentTask
    }

    private struct State {
        var handle: Handle?
        var cancelled = false
    }

    private let state = Mutex(State())

    /// Runs `body` in the calling task (the attempt's child task), cancellable through ``cancel()``.
    func run(_ body: () async -> Void) async {
        let cancelledEarly: Bool = withUnsafeCurrentTask { task in
            state.withLock { s in
                if let task { s.handle = Handle(task: task) }
                return s.cancelled
            }
        }
        if cancelledEarly { withUnsafeCurrentTask { $0?.cancel() } }
        await body()
        state.withLock { $0.handle = nil }
    }

    /// Cancels the attempt's task (at once if it runs, when it starts if not yet).
    func cancel() {
        state.withLock { s in
            s.cancelled = true
            s.handle?.task.cancel()
        }
    }
}
