public import Foundation

// What `saga plan` says about steps that wait (`saga show`'s are in `SagaDetailView`). Tokens are never shown
// (they are credentials; `SagaEvent.json` leaves them out too).
extension SagaStateMachine {
    /// The waits as `saga plan` shows them.
    var planWaits: [SagaPlan.Wait] {
        waits.map { w in
            let timer = definition.step(named: w.step)?.action.kind.isTimer ?? false
            return SagaPlan.Wait(step: w.step, attempt: w.attempt, waitsFor: timer ? "timer" : "signal", until: w.until)
        }
    }
}
