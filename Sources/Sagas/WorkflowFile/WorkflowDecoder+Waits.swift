// Steps that wait: the `await` member of a step, and the checks that need the whole step (where `${step.token}`
// may be used, what undoes a step that waits).

extension WorkflowDecoder {
    static let awaitKeys = ["timeout"]

    /// Decodes `"await": {"timeout": "24h"}`.
    mutating func stepAwait(_ node: JSONNode, step: String) -> StepAwait? {
        guard let m = members(of: node, what: "'await' of \(step)", allowed: Self.awaitKeys) else { return nil }
        guard let member = m["timeout"] else {
            error("missing required field 'timeout' in 'await' of \(step)", at: node.location)
            return nil
        }
        guard let timeout = duration(member.value, field: "await.timeout", allowZero: false) else { return nil }
        if timeout > StepAwait.maximumTimeout {
            error("'await.timeout' of \(step) is \(SagaDuration.format(timeout)); a step waits at most 365d",
                  at: member.value.location)
            return nil
        }
        return StepAwait(timeout: timeout)
    }

    /// The checks of steps that wait, after `validate`.
    mutating func checkWaits(_ steps: [DecodedStep]) {
        for s in steps {
            let name = s.step.name
            for (placeholder, phase, location) in s.placeholders
            where placeholder.references.contains(.currentToken) {
                if s.step.awaits == nil {
                    error("template '\(placeholder)' in step '\(name)': ${step.token} is the callback token of a "
                          + "step that waits for a signal; add \"await\": {\"timeout\": …} to the step",
                          at: location)
                } else if phase != .action {
                    error("template '\(placeholder)' in the \(phase.rawValue) of step '\(name)': ${step.token} "
                          + "exists only in the step's action (a compensation or probe is not signalled)",
                          at: location)
                }
            }
            if let awaits = s.step.awaits, s.declaredKind == .compensable, s.step.compensation == nil,
                s.compensationKeyLocation == nil
            {
                // A wait ended by a cancellation, or by another step's failure, leaves the outcome unknown: the
                // service may still carry the work out.
                warning("step '\(name)' waits for a signal (up to \(SagaDuration.format(awaits.timeout))) and has "
                        + "no 'compensation': if the saga is cancelled or another step fails while it waits, what "
                        + "its action started is not undone; add a 'compensation', or \"kind\": \"readonly\"",
                        at: s.nameLocation)
            }
            if let awaits = s.step.awaits, let location = s.timeoutLocation, s.step.timeout >= awaits.timeout {
                // The two bounds are separate: read as one, the wait would seem to end at the step's timeout.
                let call = SagaDuration.format(s.step.timeout)
                let wait = SagaDuration.format(awaits.timeout)
                warning("step '\(name)' has \"timeout\": \(call), not shorter than its \"await.timeout\" of \(wait): "
                        + "the step's 'timeout' bounds only its action's call, which starts the work; the wait that "
                        + "follows is bounded by 'await.timeout' alone, so an attempt may last \(call) + \(wait); "
                        + "to wait longer, raise 'await.timeout', and keep 'timeout' to what the call needs",
                        at: location)
            }
        }
    }
}

extension WorkflowDecoder {
    /// Checks `{"sleep": "10m"}` (a duration, no templates) and `{"sleepUntil": "${input.deliverAt}"}` (a template
    /// or an ISO 8601 time); timers are forward actions only.
    mutating func timerSpec(_ spec: JSONNode, kind: StepAction.Kind, field: String, step: String, phase: StepPhase) {
        if phase != .action {
            error("a \(field) cannot be a timer ('\(kind.rawValue)'): timers have no effect to undo or probe",
                  at: spec.location)
            return
        }
        guard case .string(let text) = spec.kind else {
            error("'\(kind.rawValue)' of \(step) must be a string, got \(spec.typeDescription)", at: spec.location)
            return
        }
        switch kind {
        case .sleep:
            _ = duration(spec, field: "sleep", allowZero: true)
        default:
            if !text.contains("${"), SagaTimer.parseTime(text) == nil {
                error("'sleepUntil' of \(step) must be an ISO 8601 time such as \"2026-12-24T18:00:00Z\" or a "
                      + "template that gives one, got \"\(EchoedText.clip(text))\"", at: spec.location)
            }
        }
    }
}
