import Foundation
import Sagas
import SagasTesting
import Testing

/// Issue 14, item 18: before compensating a step whose outcome is unknown, the engine runs its probe. The probe can
/// tell that the effect happened (and supply the output the compensation reads), or that it did not (then there is
/// nothing to undo). Cancelling a saga while its payment call hangs used to go `step.unknown` →
/// `compensation.started` without the probe, and the compensation's template then named a missing output.
@Suite struct ProbeBeforeCompensationTests {
    typealias S = TestSupport

    static let definition = S.definition([
        S.step("a", after: []),
        S.step("pay", after: ["a"], probe: true, retry: RetryPolicy(maxAttempts: 2, initialInterval: .seconds(1), jitter: .none)),
        S.step("ship", after: ["pay"]),
    ])

    /// `a` succeeded, `pay` is in flight, a cancel arrives, and `pay` ends unknown.
    static func cancelledWhilePaying() throws -> MachineDriver {
        var d = try MachineDriver(Self.definition)
        try d.succeed("a")
        try d.emit(.stepStarted, "pay", attempt: 1)
        try d.emit(.cancelRequested, error: "customer changed their mind")
        #expect(d.decisions == [.beginCompensation(reason: "cancelled: customer changed their mind")])
        try d.emit(.sagaCompensating, error: "cancelled")
        #expect(d.decisions == [], "pay is still in flight")
        try d.emit(.stepUnknown, "pay", attempt: 1, error: "timed out after 30s")
        return d
    }

    @Test func theProbeRunsBeforeTheCompensation() throws {
        var d = try Self.cancelledWhilePaying()
        #expect(d.decisions == [.startAttempt(step: "pay", phase: .probe, attempt: 1)])
        try d.emit(.probeStarted, "pay", attempt: 1)
        #expect(d.decisions == [], "the probe is in flight")
        try d.emit(.probeHappened, "pay", attempt: 1, output: ["id": "p-1"])
        #expect(d.decisions == [.startAttempt(step: "pay", phase: .compensation, attempt: 1)])
        #expect(d.machine.outputs["pay"] == ["id": "p-1"], "the compensation reads the probe's output")
        try d.compensate("pay")
        try d.compensate("a")
        #expect(d.decisions == [.finishCompensated])
    }

    @Test func aStepTheProbeFindsNotDoneIsNotCompensated() throws {
        var d = try Self.cancelledWhilePaying()
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeNotHappened, "pay", attempt: 1)
        #expect(d.machine.compensationQueue == ["a"])
        #expect(d.decisions == [.startAttempt(step: "a", phase: .compensation, attempt: 1)])
    }

    @Test func aProbeThatCannotTellRetriesThenWaitsForAPerson() throws {
        var d = try Self.cancelledWhilePaying()
        try d.emit(.probeStarted, "pay", attempt: 1)
        try d.emit(.probeFailed, "pay", attempt: 1, error: "503")
        let due = d.events.last!.at.addingTimeInterval(1)
        #expect(d.decisions == [.wake(at: due)])
        #expect(d.decide(at: due) == [.startAttempt(step: "pay", phase: .probe, attempt: 2)])
        try d.emit(.probeStarted, "pay", attempt: 2)
        try d.emit(.probeFailed, "pay", attempt: 2, error: "503")
        #expect(
            d.decisions == [
                .needIntervention(
                    step: "pay", phase: .probe,
                    reason: "the outcome of step 'pay' is unknown and its probe could not settle it: probe: 503"
                )
            ])
        try d.emit(.sagaNeedsIntervention, "pay", error: "probe", data: ["phase": "probe"])
        // A person found the payment in the provider's console: skip with its output; the saga compensates it.
        try d.emit(.interventionResolved, "pay", data: ["action": "skip", "by": "alice", "note": "found it", "output": ["id": "p-9"]])
        #expect(d.machine.status == .compensating)
        #expect(d.decisions == [.startAttempt(step: "pay", phase: .compensation, attempt: 1)])
        #expect(d.machine.outputs["pay"] == ["id": "p-9"])
    }

    /// A journal that began compensating such a step before this rule (a previous version) goes on as written.
    @Test func aCompensationAlreadyStartedGoesOn() throws {
        var d = try Self.cancelledWhilePaying()
        try d.emit(.compensationStarted, "pay", attempt: 1)
        try d.emit(.compensationFailed, "pay", attempt: 1, error: "missing value", retryable: true)
        #expect(d.decide(at: d.now.addingTimeInterval(3600)) == [.startAttempt(step: "pay", phase: .compensation, attempt: 2)])
    }

    /// The engine, end to end: the payment call hangs, the saga is cancelled, the attempt times out; the probe finds
    /// the payment and the refund reads its id.
    @Test(.timeLimit(.minutes(1))) func aCancelledSagaProbesTheHungStepThenRefundsIt() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        let paying = TestSignal()
        S.succeed(engine, recorder, ["a", "ship", "a.undo"])
        S.script(engine, recorder, "pay", [.fire(paying, then: .hang)])
        S.script(engine, recorder, "pay.probe", [], otherwise: .succeed(["happened": true, "output": ["id": "p-1"]]))
        S.script(engine, recorder, "pay.refund", [], otherwise: .succeed(["refunded": true]))
        var pay = S.step("pay", after: ["a"], probe: true, retry: S.fastRetry(2), timeout: .milliseconds(300))
        pay.compensation = .handler("pay.refund", input: ["payment": "${steps.pay.output.id}"])
        let definition = S.definition([S.step("a", after: []), pay, S.step("ship", after: ["pay"])])
        let run = Task { try await engine.execute(definition, input: [:], id: "cancel-while-paying") }
        #expect(await paying.wait(timeout: .seconds(30)))
        try await engine.cancel(sagaID: "cancel-while-paying", reason: "customer changed their mind")
        let record = try await run.value
        let events = try await engine.store.events(sagaID: "cancel-while-paying")
        #expect(record.status == .compensated, "\(S.trace(events)) \(record.lastError ?? "")")
        let trace = S.trace(events).filter { $0.hasSuffix(":pay") }
        #expect(
            trace == [
                "step.started:pay", "step.unknown:pay", "probe.started:pay", "probe.happened:pay",
                "compensation.started:pay", "compensation.succeeded:pay",
            ], "\(S.trace(events))")
        #expect(recorder.invocations(of: "pay.refund").map(\.input) == [["payment": "p-1"]])
        #expect(recorder.invocations(of: "a.undo").count == 1)
        let report = JournalChecker(requireEffectForEverySuccess: false)
            .check([.init(record: record, events: events, definition: definition)])
        #expect(report.violations.isEmpty, "\(report)")
    }
}
