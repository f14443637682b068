import Foundation
import Logging
import Synchronization

/// The attempts a drive loop has running, each in a task of its own with its timeout armed on the engine's timers.
/// The loop stops and awaits them before it returns, so no attempt outlives the loop that started it.
struct RunningAttempts {
    private struct Running {
        var task: Task<Void, Never>
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
        mailbox: DriveMailbox
    ) {
        lastID += 1
        var plan = plan
        plan.id = lastID
        let timedOut = TimeoutFlag()
        let abandoned = TimeoutFlag()
        let task = Task {
            let result = await engine.attempt(plan, context: context, action: definition, timedOut: timedOut, abandoned: abandoned)
            mailbox.post(.attempt(result))
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

    mutating func cancelAndWait(timers: EngineTimers) async {
        let all = running.values
        running = [:]
        for attempt in all {
            timers.cancel(attempt.timeout)
            attempt.task.cancel()
        }
        for attempt in all { await attempt.task.value }
    }
}
