public import Foundation

// Steps that wait: a step with `await` whose action's call returned (`step.waiting`), until a signal
// (`step.signalled`) or its deadline (`step.wait_timed_out`); and durable timers (`step.timer_fired`).
//
// A waiting step has no attempt in flight: it holds no worker, and the saga's other paths go on. A signal journaled
// while the attempt's call is still in flight is kept and applied when the call returns (`step.waiting` then
// resolves at once). When the saga begins compensating (a cancel, another step's failure) every wait ends at once:
// a step that waited for a signal may have taken effect (its outcome is unknown, so it is compensated if it has a
// compensation); a timer has no effect.
extension SagaStateMachine {
    /// The steps waiting now, with the attempt that waits and its deadline.
    public var waits: [(step: String, attempt: Int, until: Date)] {
        steps.compactMap { s in
            guard let attempt = s.waitingAttempt, let until = s.waitingUntil else { return nil }
            return (s.name, attempt, until)
        }
    }

    /// The callback token of a step's attempt, from its `step.started` event in `events`.
    public static func token(in events: [SagaEvent], step: String, attempt: Int) -> String? {
        events.last { $0.type == .stepStarted && $0.step == step && $0.attempt == attempt }?
            .data?[SagaEvent.waitTokenKey]?.stringValue
    }

    /// Whether a step's wait is a durable timer (its action is `sleep` or `sleepUntil`) rather than a wait for a
    /// signal.
    func isTimer(_ i: Int) -> Bool {
        definition.steps[i].action.kind.isTimer
    }

    mutating func beginWait(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let f = steps[i].inFlight, f.phase == .action, event.attempt == f.attempt else {
            throw corrupt(event, "no attempt of the action is in flight")
        }
        guard definition.steps[i].awaits != nil || isTimer(i) else {
            throw corrupt(event, "the step does not wait")
        }
        steps[i].inFlight = nil
        steps[i].output = event.output
        if status == .compensating {
            // The call returned after the saga began compensating: the wait is over before it began.
            endAbandoned(i, seq: event.seq)
            return
        }
        if let early = steps[i].earlySignal, early.attempt == f.attempt {
            resolve(i, signal: early, seq: event.seq)
            return
        }
        let timeoutMs = event.data?["timeoutMs"]?.intValue ?? 0
        steps[i].waitingAttempt = f.attempt
        steps[i].waitingUntil = event.at.addingTimeInterval(Double(timeoutMs) / 1000)
    }

    mutating func applySignal(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let attempt = event.attempt else { throw corrupt(event, "a signal names its attempt") }
        if steps[i].waitingAttempt == attempt {
            resolve(i, signal: event, seq: event.seq)
            return
        }
        if let f = steps[i].inFlight, f.phase == .action, f.attempt == attempt, steps[i].earlySignal == nil,
            definition.steps[i].awaits != nil
        {
            steps[i].earlySignal = event
            return
        }
        throw corrupt(event, "attempt \(attempt) is not waiting for a signal")
    }

    mutating func endWait(_ event: SagaEvent) throws(SagaError) {
        let i = try stepIndex(event)
        guard let attempt = steps[i].waitingAttempt, event.attempt == nil || event.attempt == attempt else {
            throw corrupt(event, "the step is not waiting")
        }
        steps[i].waitingAttempt = nil
        steps[i].waitingUntil = nil
        steps[i].earlySignal = nil
        if event.type == .stepTimerFired {
            markSucceeded(i, output: event.output ?? steps[i].output, seq: event.seq)
        } else {
            // The call that started the work returned, and no outcome came: the work may have been done.
            steps[i].unresolvedUnknown = true
            steps[i].completionSeq = event.seq
            fail(i, event: event, retryable: true)
        }
    }

    /// A signal settles the waiting attempt: an output succeeds the step; an error fails the attempt, and the
    /// step's retry policy decides what follows (`retryable: false`: no more attempts).
    private mutating func resolve(_ i: Int, signal: SagaEvent, seq: Int) {
        steps[i].waitingAttempt = nil
        steps[i].waitingUntil = nil
        steps[i].earlySignal = nil
        if signal.error == nil {
            markSucceeded(i, output: signal.output, seq: seq)
        } else {
            fail(i, event: signal, retryable: signal.retryable ?? true)
        }
    }

    private mutating func fail(_ i: Int, event: SagaEvent, retryable: Bool) {
        let step = definition.steps[i]
        steps[i].lastError = event.error
        if !retryable || forwardExhausted(i) {
            steps[i].failedForGood = true
            steps[i].notBefore = nil
        } else {
            steps[i].notBefore = retryTime(after: event, policy: step.retry, attempt: steps[i].attempts, step: step.name, phase: .action)
        }
    }

    /// The saga began compensating (event `seq`): every wait ends now.
    mutating func abandonWaits(seq: Int) {
        for i in steps.indices where steps[i].waitingAttempt != nil {
            endAbandoned(i, seq: seq)
        }
    }

    private mutating func endAbandoned(_ i: Int, seq: Int) {
        steps[i].waitingAttempt = nil
        steps[i].waitingUntil = nil
        steps[i].earlySignal = nil
        steps[i].failedForGood = true
        steps[i].notBefore = nil
        if !isTimer(i) {
            steps[i].lastError = "the wait ended: the saga began compensating before a signal came"
            steps[i].unresolvedUnknown = true
            steps[i].completionSeq = seq
        }
    }

    /// Decisions for the waiting steps: end those whose deadline passed; the earliest deadline to come.
    func waitDecisions(now: Date) -> (decisions: [SagaDecision], wake: Date?)? {
        var decisions: [SagaDecision] = []
        var wake: Date?
        for s in steps {
            guard let attempt = s.waitingAttempt, let until = s.waitingUntil else { continue }
            if until <= now {
                decisions.append(.endWait(step: s.name, attempt: attempt))
            } else {
                wake = min(wake ?? until, until)
            }
        }
        return decisions.isEmpty && wake == nil ? nil : (decisions, wake)
    }
}

extension SagaEvent {
    /// The `data` member of a `step.started` event that holds the attempt's callback token (steps with `await`).
    /// It is never printed: `json` leaves it out.
    public static let waitTokenKey = "waitToken"
}

extension StepAction.Kind {
    /// Whether the kind is a durable timer, which waits rather than calls.
    public var isTimer: Bool { self == .sleep || self == .sleepUntil }
}
