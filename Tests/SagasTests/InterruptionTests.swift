import Foundation
import Sagas
import SagasTesting
import Testing

/// Issue 14, item 4: an attempt interrupted because its worker died is not the step's failure. Interrupted attempts
/// (journaled with `data.interrupted` by the worker that took over) do not use up the retry policy's attempts; a
/// separate cap (`SagaStateMachine.maxInterruptions`) stops a step that keeps killing its worker in
/// `needs_intervention`, and never compensates the saga because of it.
@Suite struct InterruptionTests {
    typealias S = TestSupport

    static let twoAttempts = RetryPolicy(maxAttempts: 2, initialInterval: .seconds(1), jitter: .none)

    static let definition = S.definition([
        S.step("a", after: [], retry: twoAttempts, compensationRetry: twoAttempts),
        S.step("b", after: ["a"], retry: twoAttempts, compensationRetry: twoAttempts),
    ])

    static let message = "interrupted: the worker running attempt 1 stopped before its outcome was journaled"

    /// `step.started` then the `step.unknown` a worker taking over journals.
    static func interrupt(_ d: inout MachineDriver, _ step: String, marked: Bool = true) throws {
        let attempt = (d.machine.state(of: step)?.attempts ?? 0) + 1
        try d.emit(.stepStarted, step, attempt: attempt)
        try d.emit(.stepUnknown, step, attempt: attempt, error: Self.message, data: marked ? SagaEvent.interruptionData : nil)
    }

    static func interruptCompensation(_ d: inout MachineDriver, _ step: String) throws {
        let attempt = (d.machine.state(of: step)?.compensationAttempts ?? 0) + 1
        try d.emit(.compensationStarted, step, attempt: attempt)
        try d.emit(.compensationUnknown, step, attempt: attempt, error: Self.message, data: SagaEvent.interruptionData)
    }

    /// The next decision, far enough in the future that every backoff is over.
    static func next(_ d: MachineDriver) -> [SagaDecision] { d.decide(at: d.now.addingTimeInterval(3600)) }

    @Test func interruptionsDoNotUseUpAStepsAttempts() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try Self.interrupt(&d, "b")
        try Self.interrupt(&d, "b")
        let b = try #require(d.machine.state(of: "b"))
        #expect(b.attempts == 2 && b.interruptions == 2)
        #expect(Self.next(d) == [.startAttempt(step: "b", phase: .action, attempt: 3)], "two crashes are not two failures")
        // The step's own two attempts are still there: one real failure, then a success.
        try d.fail("b")
        #expect(Self.next(d) == [.startAttempt(step: "b", phase: .action, attempt: 4)])
        try d.succeed("b")
        #expect(d.decisions == [.complete])
    }

    @Test func realFailuresStillUseUpTheAttemptsBesideInterruptions() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try d.fail("b")
        try Self.interrupt(&d, "b")
        try d.fail("b")
        #expect(Self.next(d) == [.beginCompensation(reason: "step 'b' failed: boom")])
    }

    @Test func interruptedCompensationsDoNotUseUpTheCompensationsAttempts() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try d.fail("b", retryable: false)
        try d.emit(.sagaCompensating, error: "b failed")
        for _ in 0..<3 { try Self.interruptCompensation(&d, "a") }
        #expect(Self.next(d) == [.startAttempt(step: "a", phase: .compensation, attempt: 4)], "nothing failed")
        try d.compensate("a")
        #expect(d.decisions == [.finishCompensated])
    }

    @Test func interruptedProbesDoNotUseUpTheProbesAttempts() throws {
        let definition = S.definition([S.step("pay", after: [], probe: true, retry: Self.twoAttempts)])
        var d = try MachineDriver(definition)
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out")
        for attempt in 1...3 {
            #expect(Self.next(d) == [.startAttempt(step: "pay", phase: .probe, attempt: attempt)])
            try d.emit(.probeStarted, "pay", attempt: attempt)
            try d.emit(.probeFailed, "pay", attempt: attempt, error: Self.message, data: SagaEvent.interruptionData)
        }
        #expect(d.machine.state(of: "pay")?.probeExhausted == false)
        #expect(Self.next(d) == [.startAttempt(step: "pay", phase: .probe, attempt: 4)])
    }

    @Test func aStepInterruptedTooOftenWaitsForAPersonAndIsNotCompensated() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        for _ in 0..<SagaStateMachine.maxInterruptions { try Self.interrupt(&d, "b") }
        #expect(d.machine.state(of: "b")?.interruptedTooOften == .action)
        let decisions = Self.next(d)
        guard case .needIntervention(let step, let phase, let reason)? = decisions.first, decisions.count == 1 else {
            Issue.record("expected an intervention, got \(decisions)")
            return
        }
        #expect(step == "b" && phase == .action)
        #expect(reason.contains("interrupted \(SagaStateMachine.maxInterruptions) times"), "\(reason)")
        try d.emit(.sagaNeedsIntervention, "b", error: reason, data: ["phase": "action"])
        #expect(d.machine.status == .needsIntervention)
        #expect(d.machine.openIntervention?.step == "b")
        // A person retries: the cap counts afresh, and the step's attempts are all there.
        try d.emit(.interventionResolved, "b", data: ["action": "retry", "by": "alice", "intervention": "saga-1#1"])
        #expect(d.machine.state(of: "b")?.interruptedTooOften == nil)
        #expect(Self.next(d) == [.startAttempt(step: "b", phase: .action, attempt: SagaStateMachine.maxInterruptions + 1)])
    }

    @Test func aCompensationInterruptedTooOftenWaitsForAPerson() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try d.fail("b", retryable: false)
        try d.emit(.sagaCompensating, error: "b failed")
        for _ in 0..<SagaStateMachine.maxInterruptions { try Self.interruptCompensation(&d, "a") }
        let decisions = Self.next(d)
        guard case .needIntervention(let step, let phase, _)? = decisions.first else {
            Issue.record("expected an intervention, got \(decisions)")
            return
        }
        #expect(step == "a" && phase == .compensation)
    }

    /// Journals written before the marker existed (the error text alone) replay as they were decided then.
    @Test func oldJournalsReplayWithTheOldCounting() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try Self.interrupt(&d, "b", marked: false)
        try Self.interrupt(&d, "b", marked: false)
        #expect(Self.next(d) == [.beginCompensation(reason: "step 'b' failed: \(Self.message)")])
        try d.emit(.sagaCompensating, error: "step 'b' failed")
        try d.compensate("b")
        try d.compensate("a")
        try d.emit(.sagaCompensated)
        #expect(d.machine.status == .compensated)
    }

    /// The counting replays: a machine folded from the journal has the state the live one had.
    @Test func theCountingReplaysIdentically() throws {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try Self.interrupt(&d, "b")
        try d.fail("b")
        try Self.interrupt(&d, "b")
        var replayed = SagaStateMachine(sagaID: d.machine.sagaID, definition: Self.definition)
        for event in d.events { try replayed.apply(event) }
        #expect(replayed.steps == d.machine.steps)
        #expect(replayed.decide(now: d.now.addingTimeInterval(3600)) == Self.next(d))
    }

    /// The engine: a saga whose step was interrupted twice (by workers that died) with `maxAttempts` 2 completes;
    /// the second interruption is journaled by the take-over, with the marker.
    @Test func aSagaTakenOverTwiceStillCompletes() async throws {
        let store = MemorySagaStore()
        let engine = S.engine(store: store)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b"])
        let definition = S.definition([
            S.step("a", after: [], retry: S.fastRetry(2), compensationRetry: S.fastRetry(2)),
            S.step("b", after: ["a"], retry: S.fastRetry(2), compensationRetry: S.fastRetry(2)),
        ])
        let record = try await engine.start(definition, input: [:], id: "twice")
        // A dead worker on this machine (certainly gone) had journaled b's second attempt after a's success and b's
        // first, interrupted attempt.
        let dead = try WorkerIdentityTests.deadWorker()
        let t = Date()
        _ = try await store.claim(sagaID: record.id, owner: dead, now: t, leaseUntil: t.addingTimeInterval(600))
        func key(_ step: String, _ phase: StepPhase) -> String {
            SagaStateMachine.idempotencyKey(sagaID: "twice", step: step, phase: phase)
        }
        try await store.append(
            [
                SagaEvent(seq: 2, at: t, type: .stepStarted, step: "a", attempt: 1, idempotencyKey: key("a", .action)),
                SagaEvent(seq: 3, at: t, type: .stepSucceeded, step: "a", attempt: 1, output: [:]),
                SagaEvent(seq: 4, at: t, type: .stepStarted, step: "b", attempt: 1, idempotencyKey: key("b", .action)),
                SagaEvent(seq: 5, at: t, type: .stepUnknown, step: "b", attempt: 1, error: Self.message, data: SagaEvent.interruptionData),
                SagaEvent(seq: 6, at: t, type: .stepStarted, step: "b", attempt: 2, idempotencyKey: key("b", .action)),
            ],
            sagaID: record.id, owner: dead, progress: SagaProgress(status: .running), leaseUntil: t.addingTimeInterval(600)
        )
        let final = try await engine.run(sagaID: record.id)
        let events = try await store.events(sagaID: record.id)
        #expect(final.status == .completed, "\(S.trace(events))")
        let interrupted = events.filter(\.isInterruption)
        #expect(interrupted.map(\.seq) == [5, 7], "the take-over journals b's second attempt as interrupted")
        #expect(recorder.invocations.map(\.handler) == ["b"], "b ran once more")
        #expect(recorder.invocations.first?.attempt == 3)
        let report = JournalChecker(requireEffectForEverySuccess: false).check([.init(record: final, events: events, definition: definition)])
        #expect(report.violations.isEmpty, "\(report)")
    }
}
