import Foundation
import Sagas
import SagasTesting
import Testing

/// The pure state machine: events in, decisions out, no I/O and no clock.
@Suite struct SagaStateMachineTests {
    typealias S = TestSupport

    /// Retries one second apart, without jitter, so that due times are exact.
    static let secondRetry = RetryPolicy(
        maxAttempts: 3,
        initialInterval: .seconds(1),
        backoffCoefficient: 2,
        maxInterval: .seconds(60),
        jitter: .none
    )

    static func linear(_ names: [String], retry: RetryPolicy = secondRetry) -> SagaDefinition {
        S.definition(S.linear(names, retry: retry))
    }

    // MARK: Going forward

    @Test func linearHappyPath() throws {
        var d = try MachineDriver(Self.linear(["a", "b", "c"]))
        #expect(d.machine.status == .pending)
        #expect(d.decisions == [.startAttempt(step: "a", phase: .action, attempt: 1)])
        try d.emit(.stepStarted, "a", attempt: 1)
        #expect(d.machine.status == .running)
        #expect(d.decisions == [], "b waits for a, which is in flight")
        try d.emit(.stepSucceeded, "a", attempt: 1, output: ["id": "A"])
        #expect(d.decisions == [.startAttempt(step: "b", phase: .action, attempt: 1)])
        try d.succeed("b")
        #expect(d.decisions == [.startAttempt(step: "c", phase: .action, attempt: 1)])
        try d.succeed("c")
        #expect(d.decisions == [.complete])
        #expect(d.machine.outputs["a"] == ["id": "A"])
        try d.emit(.sagaCompleted)
        #expect(d.machine.status == .completed)
        #expect(d.decisions == [])
        #expect(d.machine.steps.map(\.status) == ["succeeded", "succeeded", "succeeded"])
    }

    @Test func independentStepsStartTogether() throws {
        let definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: []),
            S.step("c", after: ["a", "b"]),
        ])
        var d = try MachineDriver(definition)
        #expect(
            d.decisions == [
                .startAttempt(step: "a", phase: .action, attempt: 1),
                .startAttempt(step: "b", phase: .action, attempt: 1),
            ])
        try d.emit(.stepStarted, "a", attempt: 1)
        try d.emit(.stepStarted, "b", attempt: 1)
        #expect(d.machine.attemptsInFlight.map(\.step) == ["a", "b"])
        try d.emit(.stepSucceeded, "a", attempt: 1)
        #expect(d.decisions == [], "c waits for b as well")
        try d.emit(.stepSucceeded, "b", attempt: 1)
        #expect(d.decisions == [.startAttempt(step: "c", phase: .action, attempt: 1)])
    }

    @Test func retryableFailureWaitsThenRetries() throws {
        var d = try MachineDriver(Self.linear(["a"]))
        try d.fail("a", retryable: true)
        let failedAt = d.events.last!.at
        let due = failedAt.addingTimeInterval(1)
        #expect(d.decide(at: failedAt) == [.wake(at: due)])
        #expect(d.decide(at: due.addingTimeInterval(-0.001)) == [.wake(at: due)])
        #expect(d.decide(at: due) == [.startAttempt(step: "a", phase: .action, attempt: 2)])
        #expect(d.machine.state(of: "a")?.status == "retrying")
        // The second failure doubles the delay.
        try d.fail("a", retryable: true)
        let secondDue = d.events.last!.at.addingTimeInterval(2)
        #expect(d.decisions == [.wake(at: secondDue)])
    }

    @Test func retryAfterIsHonouredWhenLongerThanTheBackoff() throws {
        var d = try MachineDriver(Self.linear(["a"]))
        try d.emit(.stepStarted, "a", attempt: 1)
        try d.emit(.stepFailed, "a", attempt: 1, error: "429", retryable: true, retryAfterMs: 5000)
        #expect(d.decisions == [.wake(at: d.events.last!.at.addingTimeInterval(5))])
    }

    @Test func permanentFailureBeginsCompensation() throws {
        var d = try MachineDriver(Self.linear(["a", "b"]))
        try d.succeed("a")
        try d.fail("b", error: "card declined", retryable: false)
        #expect(d.machine.state(of: "b")?.attempts == 1)
        #expect(d.machine.state(of: "b")?.status == "failed")
        #expect(d.decisions == [.beginCompensation(reason: "step 'b' failed: card declined")])
    }

    @Test func exhaustedRetriesBeginCompensation() throws {
        var d = try MachineDriver(Self.linear(["a"]))
        for _ in 1...3 { try d.fail("a", error: "503") }
        #expect(d.machine.state(of: "a")?.attempts == 3)
        #expect(d.decide(at: d.now.addingTimeInterval(3600)) == [.beginCompensation(reason: "step 'a' failed: 503")])
    }

    // MARK: Compensation

    @Test func compensatesInReverseCompletionOrder() throws {
        // a and b run in parallel; b completes first, then a: a is undone first.
        let definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: []),
            S.step("c", after: ["a", "b"]),
        ])
        var d = try MachineDriver(definition)
        try d.emit(.stepStarted, "a", attempt: 1)
        try d.emit(.stepStarted, "b", attempt: 1)
        try d.emit(.stepSucceeded, "b", attempt: 1)
        try d.emit(.stepSucceeded, "a", attempt: 1)
        try d.fail("c", retryable: false)
        #expect(d.decisions == [.beginCompensation(reason: "step 'c' failed: boom")])
        try d.emit(.sagaCompensating, error: "step 'c' failed: boom")
        #expect(d.machine.status == .compensating)
        #expect(d.machine.compensationQueue == ["a", "b"])
        #expect(d.decisions == [.startAttempt(step: "a", phase: .compensation, attempt: 1)])
        try d.emit(.compensationStarted, "a", attempt: 1)
        #expect(d.decisions == [], "one compensation at a time")
        try d.emit(.compensationSucceeded, "a", attempt: 1)
        #expect(d.decisions == [.startAttempt(step: "b", phase: .compensation, attempt: 1)])
        try d.compensate("b")
        #expect(d.machine.compensationQueue == [])
        #expect(d.decisions == [.finishCompensated])
        try d.emit(.sagaCompensated)
        #expect(d.machine.status == .compensated)
        #expect(d.machine.steps.map(\.status) == ["compensated", "compensated", "failed"])
    }

    @Test func stepsWithoutCompensationOrReadonlyAreSkipped() throws {
        let definition = S.definition([
            S.step("lookup", after: [], kind: .readonly),
            S.step("notify", after: ["lookup"], compensation: false),
            S.step("reserve", after: ["notify"]),
            S.step("charge", after: ["reserve"]),
        ])
        var d = try MachineDriver(definition)
        try d.succeed("lookup")
        try d.succeed("notify")
        try d.succeed("reserve")
        try d.fail("charge", retryable: false)
        try d.emit(.sagaCompensating, error: "x")
        #expect(d.machine.compensationQueue == ["reserve"])
        #expect(d.decisions == [.startAttempt(step: "reserve", phase: .compensation, attempt: 1)])
        try d.compensate("reserve")
        #expect(d.decisions == [.finishCompensated])
    }

    @Test func compensationWaitsForForwardAttemptsInFlight() throws {
        let definition = S.definition([S.step("a", after: []), S.step("b", after: [])])
        var d = try MachineDriver(definition)
        try d.emit(.stepStarted, "a", attempt: 1)
        try d.emit(.stepStarted, "b", attempt: 1)
        try d.emit(.stepFailed, "a", attempt: 1, error: "no", retryable: false)
        #expect(d.decisions == [.beginCompensation(reason: "step 'a' failed: no")])
        try d.emit(.sagaCompensating, error: "step 'a' failed: no")
        #expect(d.decisions == [], "b may still take effect")
        try d.emit(.stepSucceeded, "b", attempt: 1)
        #expect(d.decisions == [.startAttempt(step: "b", phase: .compensation, attempt: 1)])
    }

    @Test func compensationRetriesThenNeedsIntervention() throws {
        let definition = S.definition([
            S.step("a", after: [], compensationRetry: Self.secondRetry),
            S.step("b", after: ["a"]),
        ])
        var d = try MachineDriver(definition)
        try d.succeed("a")
        try d.fail("b", retryable: false)
        try d.emit(.sagaCompensating, error: "b failed")
        for attempt in 1...3 {
            #expect(d.decide(at: d.now.addingTimeInterval(60)) == [.startAttempt(step: "a", phase: .compensation, attempt: attempt)])
            try d.emit(.compensationStarted, "a", attempt: attempt)
            try d.emit(.compensationFailed, "a", attempt: attempt, error: "refund API down", retryable: true)
            if attempt == 1 {
                #expect(d.decisions == [.wake(at: d.events.last!.at.addingTimeInterval(1))])
            }
        }
        #expect(
            d.decisions == [
                .needIntervention(step: "a", phase: .compensation, reason: "compensation of step 'a' failed: refund API down")
            ])
        try d.emit(.sagaNeedsIntervention, "a", error: "compensation of step 'a' failed")
        #expect(d.machine.status == .needsIntervention)
        #expect(d.machine.interventionStep == "a")
        #expect(d.decisions == [])
    }

    @Test func permanentCompensationFailureNeedsInterventionAtOnce() throws {
        var d = try MachineDriver(Self.linear(["a", "b"]))
        try d.succeed("a")
        try d.fail("b", retryable: false)
        try d.emit(.sagaCompensating, error: "b failed")
        try d.emit(.compensationStarted, "a", attempt: 1)
        try d.emit(.compensationFailed, "a", attempt: 1, error: "gone", retryable: false)
        #expect(d.decisions == [.needIntervention(step: "a", phase: .compensation, reason: "compensation of step 'a' failed: gone")])
    }

    // MARK: Unknown outcomes and probes

    static func probed(maxAttempts: Int = 3) -> SagaDefinition {
        var retry = secondRetry
        retry.maxAttempts = maxAttempts
        return S.definition([
            S.step("a", after: []),
            S.step("pay", after: ["a"], probe: true, retry: retry),
            S.step("ship", after: ["pay"]),
        ])
    }

    @Test func unknownOutcomeWithAProbeProbes() throws {
        var d = try MachineDriver(Self.probed())
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out after 50ms")
        let pay = try #require(d.machine.state(of: "pay"))
        #expect(pay.needsProbe && pay.unresolvedUnknown && pay.mayHaveTakenEffect)
        #expect(pay.status == "probing")
        #expect(d.decisions == [.startAttempt(step: "pay", phase: .probe, attempt: 1)])
    }

    @Test func probeHappenedMeansTheStepSucceeded() throws {
        var d = try MachineDriver(Self.probed())
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out")
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeHappened, "pay", attempt: 1, output: ["paymentId": "p-1"])
        let pay = try #require(d.machine.state(of: "pay"))
        #expect(pay.succeeded && !pay.needsProbe && !pay.unresolvedUnknown)
        #expect(pay.attempts == 1)
        #expect(d.machine.outputs["pay"] == ["paymentId": "p-1"])
        #expect(d.decisions == [.startAttempt(step: "ship", phase: .action, attempt: 1)])
    }

    @Test func probeNotHappenedRetriesTheAction() throws {
        var d = try MachineDriver(Self.probed())
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out")
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeNotHappened, "pay", attempt: 1)
        let pay = try #require(d.machine.state(of: "pay"))
        #expect(!pay.mayHaveTakenEffect && !pay.needsProbe)
        let due = d.events.last!.at.addingTimeInterval(1)
        #expect(d.decisions == [.wake(at: due)])
        #expect(d.decide(at: due) == [.startAttempt(step: "pay", phase: .action, attempt: 2)])
    }

    @Test func exhaustedProbeNeedsIntervention() throws {
        var d = try MachineDriver(Self.probed(maxAttempts: 2))
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out")
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeFailed, "pay", attempt: 1, error: "503")
        let due = d.events.last!.at.addingTimeInterval(1)
        #expect(d.decisions == [.wake(at: due)])
        #expect(d.decide(at: due) == [.startAttempt(step: "pay", phase: .probe, attempt: 2)])
        try d.emit(.probeStarted, "pay", attempt: 2)
        try d.emit(.probeFailed, "pay", attempt: 2, error: "503")
        #expect(d.machine.state(of: "pay")?.probeExhausted == true)
        #expect(
            d.decisions == [
                .needIntervention(
                    step: "pay",
                    phase: .probe,
                    reason: "the outcome of step 'pay' is unknown and its probe could not settle it: probe: 503"
                )
            ])
    }

    @Test func unknownWithoutAProbeRetriesThenCompensatesTheStep() throws {
        let definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: ["a"], retry: RetryPolicy(maxAttempts: 2, initialInterval: .seconds(1), jitter: .none)),
        ])
        var d = try MachineDriver(definition)
        try d.succeed("a")
        try d.emit(.stepStarted, "b", attempt: 1)
        try d.emit(.stepUnknown, "b", attempt: 1, error: "timed out")
        let due = d.events.last!.at.addingTimeInterval(1)
        #expect(d.decisions == [.wake(at: due)])
        #expect(d.decide(at: due) == [.startAttempt(step: "b", phase: .action, attempt: 2)])
        try d.emit(.stepStarted, "b", attempt: 2)
        try d.emit(.stepUnknown, "b", attempt: 2, error: "timed out")
        #expect(d.machine.state(of: "b")?.status == "unknown")
        #expect(d.decisions == [.beginCompensation(reason: "step 'b' failed: timed out")])
        try d.emit(.sagaCompensating, error: "b")
        #expect(d.machine.compensationQueue == ["b", "a"], "b may have taken effect, after a")
    }

    @Test func anUnknownAttemptFollowedByAFailureIsStillCompensated() throws {
        let definition = S.definition([
            S.step("b", after: [], retry: RetryPolicy(maxAttempts: 2, initialInterval: .zero, jitter: .none))
        ])
        var d = try MachineDriver(definition)
        try d.emit(.stepStarted, "b", attempt: 1)
        try d.emit(.stepUnknown, "b", attempt: 1, error: "timed out")
        try d.fail("b", error: "400", retryable: false)
        try d.emit(.sagaCompensating, error: "b")
        #expect(d.machine.compensationQueue == ["b"])
    }

    // MARK: The pivot and cancellation

    static let pivoted = S.definition([
        S.step("reserve", after: []),
        S.step("charge", after: ["reserve"], kind: .pivot),
        S.step("ship", after: ["charge"], compensation: false, retry: secondRetry, kind: .retriable),
    ])

    @Test func failureAfterThePivotNeedsIntervention() throws {
        var d = try MachineDriver(Self.pivoted)
        try d.succeed("reserve")
        try d.succeed("charge")
        #expect(d.machine.pivotSucceeded)
        try d.fail("ship", error: "carrier down", retryable: false)
        #expect(
            d.decisions == [
                .needIntervention(step: "ship", phase: .action, reason: "step 'ship' failed after the pivot: carrier down")
            ])
        #expect(throws: SagaError.self) { try d.emit(.sagaCompensating, error: "no") }
    }

    /// Like compensation, stopping for a person waits for attempts in flight: their outcomes must be journaled.
    @Test
    func interventionWaitsForAttemptsInFlight() throws {
        let definition = S.definition([
            S.step("charge", after: [], compensation: false, kind: .pivot),
            S.step("x", after: ["charge"], compensation: false, kind: .retriable),
            S.step("y", after: ["charge"], compensation: false, kind: .retriable),
        ])
        var d = try MachineDriver(definition)
        try d.succeed("charge")
        try d.emit(.stepStarted, "x", attempt: 1)
        try d.emit(.stepStarted, "y", attempt: 1)
        try d.emit(.stepFailed, "x", attempt: 1, error: "broken", retryable: false)
        #expect(d.decisions == [], "y may still take effect")
        try d.emit(.stepSucceeded, "y", attempt: 1)
        #expect(d.decisions == [.needIntervention(step: "x", phase: .action, reason: "step 'x' failed after the pivot: broken")])
    }

    @Test func pivotFailureCompensatesTheStepsBeforeIt() throws {
        var d = try MachineDriver(Self.pivoted)
        try d.succeed("reserve")
        try d.fail("charge", error: "declined", retryable: false)
        #expect(d.decisions == [.beginCompensation(reason: "step 'charge' failed: declined")])
        try d.emit(.sagaCompensating, error: "x")
        #expect(d.machine.compensationQueue == ["reserve"])
    }

    @Test func pivotWithAnUnknownOutcomeNeedsIntervention() throws {
        let definition = S.definition([
            S.step("reserve", after: []),
            S.step("charge", after: ["reserve"], retry: RetryPolicy(maxAttempts: 1), kind: .pivot),
        ])
        var d = try MachineDriver(definition)
        try d.succeed("reserve")
        try d.emit(.stepStarted, "charge", attempt: 1)
        try d.emit(.stepUnknown, "charge", attempt: 1, error: "timed out")
        #expect(
            d.decisions == [
                .needIntervention(step: "charge", phase: .action, reason: "the outcome of pivot step 'charge' is unknown: timed out")
            ])
    }

    @Test func cancelBeforeThePivotCompensates() throws {
        var d = try MachineDriver(Self.pivoted)
        try d.succeed("reserve")
        try d.emit(.cancelRequested, error: "customer changed their mind")
        #expect(d.machine.cancelReason == "customer changed their mind")
        #expect(d.decisions == [.beginCompensation(reason: "cancelled: customer changed their mind")])
        try d.emit(.sagaCompensating, error: "cancelled: customer changed their mind")
        #expect(d.decisions == [.startAttempt(step: "reserve", phase: .compensation, attempt: 1)])
    }

    @Test func cancelAfterThePivotGoesForward() throws {
        var d = try MachineDriver(Self.pivoted)
        try d.succeed("reserve")
        try d.succeed("charge")
        try d.emit(.cancelRequested, error: "too late")
        #expect(d.decisions == [.startAttempt(step: "ship", phase: .action, attempt: 1)])
        try d.succeed("ship")
        #expect(d.decisions == [.complete])
    }

    // MARK: Rejected journals

    struct Rejection: Sendable, CustomTestStringConvertible {
        var name: String
        /// Events applied with the driver, the last of which must be refused.
        var build: @Sendable (inout MachineDriver) throws -> Void
        /// A part of the refusal's message.
        var message: String
        var testDescription: String { name }
    }

    static let twoParallel = S.definition([S.step("a", after: []), S.step("b", after: [])])

    static let rejections: [Rejection] = [
        Rejection(name: "a gap in numbering", build: { d in
            try d.machine.apply(SagaEvent(seq: 3, at: d.now, type: .stepStarted, step: "a", attempt: 1))
        }, message: "expected event 2"),
        Rejection(name: "a duplicate number", build: { d in
            try d.emit(.stepStarted, "a", attempt: 1)
            try d.machine.apply(SagaEvent(seq: 2, at: d.now, type: .stepSucceeded, step: "a", attempt: 1))
        }, message: "expected event 3"),
        Rejection(name: "an outcome with no attempt in flight", build: { d in
            try d.emit(.stepSucceeded, "a", attempt: 1)
        }, message: "no attempt of the action is in flight"),
        Rejection(name: "an outcome for another attempt than the one in flight", build: { d in
            try d.emit(.stepStarted, "a", attempt: 1)
            try d.emit(.stepSucceeded, "a", attempt: 2)
        }, message: "no attempt of the action is in flight"),
        Rejection(name: "a probe outcome with no probe in flight", build: { d in
            try d.emit(.stepStarted, "a", attempt: 1)
            try d.emit(.probeHappened, "a", attempt: 1)
        }, message: "no probe is in flight"),
        Rejection(name: "a forward step started after compensating began", build: { d in
            try d.fail("a", retryable: false)
            try d.emit(.sagaCompensating, error: "a failed")
            try d.emit(.stepStarted, "b", attempt: 1)
        }, message: "a forward step cannot start while the saga is compensating"),
        Rejection(name: "a compensation before compensating began", build: { d in
            try d.succeed("a")
            try d.emit(.compensationStarted, "a", attempt: 1)
        }, message: "compensation attempt 1 is out of order"),
        Rejection(name: "an event for an unknown step", build: { d in
            try d.emit(.stepStarted, "zzz", attempt: 1)
        }, message: "no such step in the saga's definition"),
        Rejection(name: "a second attempt while one is in flight", build: { d in
            try d.emit(.stepStarted, "a", attempt: 1)
            try d.emit(.stepStarted, "a", attempt: 2)
        }, message: "an attempt is already in flight"),
        Rejection(name: "an attempt out of order", build: { d in
            try d.emit(.stepStarted, "a", attempt: 2)
        }, message: "attempt 2 is out of order"),
        Rejection(name: "a probe with no unknown outcome", build: { d in
            try d.emit(.probeStarted, "a", attempt: 1)
        }, message: "no probe is due"),
        Rejection(name: "saga.completed before every step succeeded", build: { d in
            try d.succeed("a")
            try d.emit(.sagaCompleted)
        }, message: "not every step succeeded"),
        Rejection(name: "an event after the saga ended", build: { d in
            try d.succeed("a")
            try d.succeed("b")
            try d.emit(.sagaCompleted)
            try d.emit(.cancelRequested, error: "late")
        }, message: "already completed"),
    ]

    @Test(arguments: rejections)
    func applyRejects(_ rejection: Rejection) throws {
        var d = try MachineDriver(Self.twoParallel)
        let error = #expect(throws: SagaError.self) { try rejection.build(&d) }
        #expect(error?.code == .corruptJournal)
        #expect(error?.message.contains(rejection.message) == true, "\(error?.message ?? "")")
        #expect(error?.sagaID == "saga-1")
    }

    @Test func aStepCannotStartBeforeItsDependencySucceeded() throws {
        var d = try MachineDriver(Self.linear(["a", "b"]))
        try d.fail("a", retryable: true)
        let error = #expect(throws: SagaError.self) { try d.emit(.stepStarted, "b", attempt: 1) }
        #expect(error?.code == .corruptJournal)
        #expect(error?.step == "b")
        #expect(error?.message.contains("it depends on 'a', which has not succeeded") == true)
        #expect(d.machine.lastSeq == 3, "a refused event is not folded")
    }

    // MARK: Replay

    /// A journal with retries, an unknown outcome, a probe and a compensation.
    static func eventfulJournal(sagaID: String) throws -> [SagaEvent] {
        let definition = S.definition([
            S.step("a", after: [], retry: RetryPolicy(maxAttempts: 5, initialInterval: .seconds(1))),
            S.step("pay", after: ["a"], probe: true),
            S.step("ship", after: ["pay"]),
        ])
        var d = try MachineDriver(definition, sagaID: sagaID)
        try d.fail("a")
        try d.fail("a")
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out")
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeHappened, "pay", attempt: 1, output: true)
        try d.fail("ship", retryable: false)
        try d.emit(.sagaCompensating, error: "ship failed")
        try d.emit(.compensationStarted, "pay", attempt: 1)
        try d.emit(.compensationFailed, "pay", attempt: 1, error: "later")
        return d.events
    }

    @Test func replayingTheSameJournalDecidesTheSame() throws {
        let definition = S.definition([
            S.step("a", after: [], retry: RetryPolicy(maxAttempts: 5, initialInterval: .seconds(1))),
            S.step("pay", after: ["a"], probe: true),
            S.step("ship", after: ["pay"]),
        ])
        let events = try Self.eventfulJournal(sagaID: "saga-1")
        var first = SagaStateMachine(sagaID: "saga-1", definition: definition)
        var second = SagaStateMachine(sagaID: "saga-1", definition: definition)
        for event in events { try first.apply(event) }
        for event in events { try second.apply(event) }
        #expect(first.steps == second.steps)
        #expect(first.status == .compensating)
        #expect(first.compensationQueue == ["pay", "a"])
        let last = events.last!.at
        for offset in [0.0, 0.5, 5, 120] {
            let now = last.addingTimeInterval(offset)
            #expect(first.decide(now: now) == second.decide(now: now))
        }
        // The compensation of pay is due after a backoff: waiting first, then retrying.
        guard case .wake(let due) = first.decide(now: last).first else {
            Issue.record("expected a wake, got \(first.decide(now: last))")
            return
        }
        #expect(due >= last && due <= last.addingTimeInterval(1))
        #expect(first.decide(now: due) == [.startAttempt(step: "pay", phase: .compensation, attempt: 2)])
    }

    @Test func theRetryDelayOfAnAttemptIsTheSameOnReplay() throws {
        // Full jitter: the delay is derived from the saga, step and attempt, never drawn at random.
        let policy = RetryPolicy(maxAttempts: 5, initialInterval: .seconds(10), maxInterval: .seconds(60), jitter: .full)
        let definition = S.definition([S.step("a", after: [], retry: policy)])
        func delays(sagaID: String) throws -> [TimeInterval] {
            var d = try MachineDriver(definition, sagaID: sagaID)
            var delays: [TimeInterval] = []
            for _ in 1...4 {
                try d.fail("a")
                let due = try #require(d.machine.state(of: "a")?.notBefore)
                delays.append(due.timeIntervalSince(d.events.last!.at))
            }
            return delays
        }
        let once = try delays(sagaID: "saga-1")
        let again = try delays(sagaID: "saga-1")
        #expect(once == again)
        // Each delay lies within the backoff for its attempt: 10s, 20s, 40s, 60s.
        for (i, cap) in [10.0, 20, 40, 60].enumerated() {
            #expect(once[i] >= 0 && once[i] <= cap + 0.001, "attempt \(i + 1): \(once[i])s")
        }
        // Another saga draws other delays.
        #expect(try delays(sagaID: "saga-2") != once)
    }
}
