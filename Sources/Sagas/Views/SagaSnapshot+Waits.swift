public import Foundation

// What `saga show` says about steps that wait: which attempt waits, for what, and until when. Tokens are never
// shown (they are credentials; `SagaEvent.json` leaves them out too).
extension StepState {
    /// `waitingUntil` and `waitingAttempt` for a waiting step, nothing otherwise.
    var waitJSON: [String: JSONValue] {
        guard let attempt = waitingAttempt, let until = waitingUntil else { return [:] }
        return ["waitingAttempt": .integer(attempt), "waitingUntil": .string(SagaTime.format(until))]
    }
}

extension SagaStateMachine {
    /// `saga show --json`'s `waits`: one object per waiting step, `{step, attempt, for, until}`, where `for` is
    /// `signal` (a step with `await`) or `timer`.
    var waitsJSON: JSONValue {
        .array(
            waits.map { w in
                let timer = definition.step(named: w.step)?.action.kind.isTimer ?? false
                return .object([
                    "step": .string(w.step),
                    "attempt": .integer(w.attempt),
                    "for": .string(timer ? "timer" : "signal"),
                    "until": .string(SagaTime.format(w.until)),
                ])
            }
        )
    }
}

extension SagaStateMachine {
    /// The waits as `saga plan` shows them.
    var planWaits: [SagaPlan.Wait] {
        waits.map { w in
            let timer = definition.step(named: w.step)?.action.kind.isTimer ?? false
            return SagaPlan.Wait(step: w.step, attempt: w.attempt, waitsFor: timer ? "timer" : "signal", until: w.until)
        }
    }
}
