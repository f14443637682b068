/// The core's durable timers: `{"sleep": "10m"}` and `{"sleepUntil": "${input.deliverAt}"}`. The engine runs them
/// itself (they wait rather than call), so they make no executor.
struct SagaTimerActionKind: SagaActionKind {
    var name: StepAction.Kind

    func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker) {
        checker.timer(spec, kind: name)
    }
}
