import Foundation
import Logging
import Sagas
import SagasTesting
import Synchronization
import Testing

/// The engine against the in-memory store, with registered Swift handlers and the real clock.
@Suite struct SagaEngineTests {
    typealias S = TestSupport

    static let input: JSONValue = ["orderId": "o-1"]

    static func key(_ sagaID: String, _ step: String, _ phase: StepPhase = .action) -> String {
        SagaStateMachine.idempotencyKey(sagaID: sagaID, step: step, phase: phase)
    }

    /// Registers `NAME.undo` handlers that record their calls and succeed.
    static func undo(_ engine: SagaEngine, _ recorder: HandlerRecorder, _ steps: [String]) {
        for step in steps {
            engine.register(handler: "\(step).undo", recorder.recording("\(step).undo") { _ in ["undone": .string(step)] })
        }
    }

    // MARK: Going forward

    @Test(.timeLimit(.minutes(1)))
    func happyPathJournalsEveryStepInOrder() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b", "c"])
        let record = try await engine.execute(S.definition(S.linear(["a", "b", "c"])), input: Self.input, id: "happy")
        #expect(record.status == .completed)
        #expect(record.owner == nil, "a finished saga releases its lease")
        let events = try await engine.store.events(sagaID: "happy")
        #expect(
            S.trace(events) == [
                "saga.started",
                "step.started:a", "step.succeeded:a",
                "step.started:b", "step.succeeded:b",
                "step.started:c", "step.succeeded:c",
                "saga.completed",
            ])
        #expect(events.map(\.seq) == Array(1...8))
        #expect(events.filter { $0.type == .stepStarted }.map(\.idempotencyKey) == ["a", "b", "c"].map { Self.key("happy", $0) })
        #expect(events.first { $0.type == .stepSucceeded && $0.step == "b" }?.output == ["step": "b"])
        #expect(recorder.invocations.map(\.step) == ["a", "b", "c"])
        #expect(recorder.invocations.allSatisfy { $0.input == Self.input && $0.attempt == 1 })
        let snapshot = try await engine.snapshot(sagaID: "happy")
        #expect(snapshot.state?.status == .completed)
        #expect(snapshot.state?.outputs == ["a": ["step": "a"], "b": ["step": "b"], "c": ["step": "c"]])
    }

    @Test(.timeLimit(.minutes(1)))
    func independentStepsRunConcurrently() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        let bothRunning = TestSignal()
        // Each waits until the other is running too: run one at a time, each would give up after 3s.
        for name in ["a", "b"] {
            engine.register(handler: name, recorder.recording(name) { _ in
                if recorder.running >= 2 { bothRunning.fire() }
                let met = await bothRunning.wait(timeout: .seconds(3))
                return ["met": .bool(met)]
            })
        }
        S.succeed(engine, recorder, ["c"])
        let definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: []),
            S.step("c", after: ["a", "b"]),
        ])
        let record = try await engine.execute(definition, input: Self.input, id: "parallel")
        #expect(record.status == .completed)
        #expect(recorder.peakConcurrency == 2)
        let trace = try await S.trace(engine, "parallel")
        #expect(Array(trace.prefix(3)) == ["saga.started", "step.started:a", "step.started:b"])
        #expect(Array(trace.suffix(3)) == ["step.started:c", "step.succeeded:c", "saga.completed"])
        let snapshot = try await engine.snapshot(sagaID: "parallel")
        #expect(snapshot.state?.outputs["a"] == ["met": true])
        #expect(snapshot.state?.outputs["b"] == ["met": true])
    }

    @Test(.timeLimit(.minutes(1)))
    func retriesWithTheSameIdempotencyKeyUntilSuccess() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.script(engine, recorder, "pay", [.fail(.retryable("503 Service Unavailable")), .error("connection reset")], otherwise: .succeed(["paymentId": "p-1"]))
        let definition = S.definition([S.step("pay", after: [], retry: S.fastRetry(3))])
        let record = try await engine.execute(definition, input: Self.input, id: "retry")
        #expect(record.status == .completed)
        let calls = recorder.invocations(step: "pay", phase: .action)
        #expect(calls.map(\.attempt) == [1, 2, 3])
        #expect(Set(calls.map(\.idempotencyKey)) == [Self.key("retry", "pay")])
        #expect(Self.key("retry", "pay") == "retry/pay/action")
        let events = try await engine.store.events(sagaID: "retry")
        #expect(
            S.trace(events) == [
                "saga.started",
                "step.started:pay", "step.failed:pay",
                "step.started:pay", "step.failed:pay",
                "step.started:pay", "step.succeeded:pay",
                "saga.completed",
            ])
        let failures = events.filter { $0.type == .stepFailed }
        #expect(failures.map(\.error) == ["503 Service Unavailable", "connection reset"])
        #expect(failures.map(\.retryable) == [true, true])
        #expect(events.filter { $0.type == .stepStarted }.map(\.attempt) == [1, 2, 3])
        #expect(Set(events.compactMap(\.idempotencyKey)) == [Self.key("retry", "pay")])
    }

    @Test(.timeLimit(.minutes(1)))
    func aPermanentFailureIsNotRetried() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["reserve"])
        Self.undo(engine, recorder, ["reserve", "charge"])
        S.script(engine, recorder, "charge", [.fail(.permanent("card declined"))])
        let definition = S.definition(S.linear(["reserve", "charge"], retry: S.fastRetry(5)))
        let record = try await engine.execute(definition, input: Self.input, id: "declined")
        #expect(record.status == .compensated)
        #expect(recorder.invocations(step: "charge", phase: .action).count == 1)
        let events = try await engine.store.events(sagaID: "declined")
        #expect(
            S.trace(events) == [
                "saga.started",
                "step.started:reserve", "step.succeeded:reserve",
                "step.started:charge", "step.failed:charge",
                "saga.compensating",
                "compensation.started:reserve", "compensation.succeeded:reserve",
                "saga.compensated",
            ])
        let failed = try #require(events.first { $0.type == .stepFailed })
        #expect(failed.retryable == false)
        #expect(failed.error == "card declined")
        #expect(events.first { $0.type == .sagaCompensating }?.error == "step 'charge' failed: card declined")
        #expect(recorder.invocations(of: "charge.undo").isEmpty, "charge never took effect")
    }

    // MARK: Timeouts and probes

    enum ProbeCase: String, CaseIterable, Sendable {
        case happened
        case notHappened
        case noProbe
    }

    @Test(.timeLimit(.minutes(1)), arguments: ProbeCase.allCases)
    func aTimedOutAttemptIsUnknown(_ probeCase: ProbeCase) async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        let id = "timeout-\(probeCase.rawValue)"
        // The first attempt sleeps far past the 50ms timeout (returning once cancelled); later ones succeed.
        S.script(engine, recorder, "pay", [.hang], otherwise: .succeed(["paymentId": "p-2"]))
        S.script(engine, recorder, "pay.probe", [], otherwise: .succeed(probeCase == .happened ? true : false))
        let definition = S.definition([
            S.step("pay", after: [], probe: probeCase != .noProbe, retry: S.fastRetry(3), timeout: .milliseconds(50))
        ])
        let record = try await engine.execute(definition, input: Self.input, id: id)
        #expect(record.status == .completed)
        let events = try await engine.store.events(sagaID: id)
        let unknown = try #require(events.first { $0.type == .stepUnknown })
        #expect(unknown.error == "timed out after 50ms")
        #expect(unknown.attempt == 1)
        let trace = S.trace(events)
        switch probeCase {
        case .happened:
            #expect(
                trace == [
                    "saga.started", "step.started:pay", "step.unknown:pay",
                    "probe.started:pay", "probe.happened:pay", "saga.completed",
                ])
            #expect(recorder.invocations(step: "pay", phase: .action).count == 1, "the probe settled it: no retry")
            #expect(recorder.invocations(step: "pay", phase: .probe).map(\.idempotencyKey) == [Self.key(id, "pay", .probe)])
        case .notHappened:
            #expect(
                trace == [
                    "saga.started", "step.started:pay", "step.unknown:pay",
                    "probe.started:pay", "probe.not_happened:pay",
                    "step.started:pay", "step.succeeded:pay", "saga.completed",
                ])
        case .noProbe:
            #expect(
                trace == [
                    "saga.started", "step.started:pay", "step.unknown:pay",
                    "step.started:pay", "step.succeeded:pay", "saga.completed",
                ])
            #expect(recorder.invocations(step: "pay", phase: .probe).isEmpty)
        }
        if probeCase != .happened {
            let calls = recorder.invocations(step: "pay", phase: .action)
            #expect(calls.map(\.attempt) == [1, 2])
            #expect(calls.map(\.idempotencyKey) == [Self.key(id, "pay"), Self.key(id, "pay")])
            #expect(events.last { $0.type == .stepSucceeded }?.output == ["paymentId": "p-2"])
        }
    }

    // MARK: Compensation

    @Test(.timeLimit(.minutes(1)))
    func compensationsRunInReverseOrderAndSeeTheirStepsOutput() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b", "c"]) { ["id": .string($0.uppercased())] }
        Self.undo(engine, recorder, ["a", "b", "c", "d"])
        S.script(engine, recorder, "d", [.fail(.permanent("out of stock"))])
        let record = try await engine.execute(S.definition(S.linear(["a", "b", "c", "d"])), input: Self.input, id: "undo")
        #expect(record.status == .compensated)
        let undos = recorder.invocations.filter { $0.phase == .compensation }
        #expect(undos.map(\.handler) == ["c.undo", "b.undo", "a.undo"])
        #expect(undos.map(\.output) == [["id": "C"], ["id": "B"], ["id": "A"]])
        #expect(undos.map(\.idempotencyKey) == ["c", "b", "a"].map { Self.key("undo", $0, .compensation) })
        #expect(
            Array(try await S.trace(engine, "undo").suffix(8)) == [
                "saga.compensating",
                "compensation.started:c", "compensation.succeeded:c",
                "compensation.started:b", "compensation.succeeded:b",
                "compensation.started:a", "compensation.succeeded:a",
                "saga.compensated",
            ])
    }

    @Test(.timeLimit(.minutes(1)))
    func aCompensationThatKeepsFailingNeedsIntervention() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b"])
        Self.undo(engine, recorder, ["a"])
        S.script(engine, recorder, "b.undo", [], otherwise: .fail(.retryable("refund API down")))
        S.script(engine, recorder, "c", [.fail(.permanent("no"))])
        let definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: ["a"], compensationRetry: S.fastRetry(2)),
            S.step("c", after: ["b"]),
        ])
        let record = try await engine.execute(definition, input: Self.input, id: "stuck")
        let reason = "compensation of step 'b' failed: refund API down"
        #expect(record.status == .needsIntervention)
        #expect(record.lastError == reason)
        #expect(record.owner == nil)
        #expect(recorder.invocations(of: "b.undo").map(\.attempt) == [1, 2])
        #expect(recorder.invocations(of: "a.undo").isEmpty, "later compensations wait for the person")
        let events = try await engine.store.events(sagaID: "stuck")
        #expect(
            Array(S.trace(events).suffix(6)) == [
                "saga.compensating",
                "compensation.started:b", "compensation.failed:b",
                "compensation.started:b", "compensation.failed:b",
                "saga.needs_intervention:b",
            ])
        let last = try #require(events.last)
        #expect(last.error == reason)
        #expect(last.data == ["phase": "compensation"])
        // Running it again does nothing: a person must act.
        #expect(try await engine.run(sagaID: "stuck").status == .needsIntervention)
        #expect(try await engine.store.events(sagaID: "stuck").count == events.count)
    }

    // MARK: The pivot

    static let pivoted = S.definition([
        S.step("reserve", after: []),
        S.step("charge", after: ["reserve"], compensation: false, kind: .pivot),
        S.step("ship", after: ["charge"], compensation: false, retry: S.fastRetry(2), kind: .retriable),
    ])

    @Test(.timeLimit(.minutes(1)))
    func afterThePivotAFailureNeedsInterventionInsteadOfCompensation() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["reserve", "charge"])
        Self.undo(engine, recorder, ["reserve"])
        S.script(engine, recorder, "ship", [], otherwise: .fail(.retryable("carrier down")))
        let record = try await engine.execute(Self.pivoted, input: Self.input, id: "pivot-late")
        #expect(record.status == .needsIntervention)
        #expect(record.lastError == "step 'ship' failed after the pivot: carrier down")
        #expect(recorder.invocations(of: "ship").count == 2)
        #expect(recorder.invocations(of: "reserve.undo").isEmpty)
        let events = try await engine.store.events(sagaID: "pivot-late")
        #expect(!events.contains { $0.type == .sagaCompensating })
        #expect(events.last?.type == .sagaNeedsIntervention)
        #expect(events.last?.step == "ship")
        #expect(events.last?.data == ["phase": "action"])
    }

    /// A saga that stops for a person must not leave an attempt journaled as started with no outcome: the person
    /// needs to know whether it took effect.
    @Test(.timeLimit(.minutes(1)))
    func interventionWaitsForParallelAttemptsInFlight() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        let yStarted = TestSignal()
        let release = TestSignal()
        S.succeed(engine, recorder, ["charge"])
        S.script(engine, recorder, "x", [.waitFor(yStarted, timeout: .seconds(10), then: .fail(.permanent("label printer on fire")))])
        S.script(engine, recorder, "y", [
            .fire(yStarted, then: .waitFor(release, timeout: .seconds(10), then: .succeed(["emailed": true])))
        ])
        let definition = S.definition([
            S.step("charge", after: [], compensation: false, kind: .pivot),
            S.step("x", after: ["charge"], compensation: false, kind: .retriable),
            S.step("y", after: ["charge"], compensation: false, kind: .retriable),
        ])
        let run = Task { try await engine.execute(definition, input: Self.input, id: "parallel-stop") }
        let xFailed = try await S.eventually {
            try await engine.store.events(sagaID: "parallel-stop").contains { $0.type == .stepFailed && $0.step == "x" }
        }
        #expect(xFailed)
        release.fire()
        let record = try await run.value
        #expect(record.status == .needsIntervention)
        let snapshot = try await engine.snapshot(sagaID: "parallel-stop")
        #expect(snapshot.state?.attemptsInFlight.map(\.step) == [], "y's outcome was never journaled")
        #expect(S.trace(snapshot.events).contains("step.succeeded:y"))
        #expect(snapshot.events.last?.type == .sagaNeedsIntervention)
    }

    @Test(.timeLimit(.minutes(1)))
    func aFailingPivotCompensatesTheStepsBeforeIt() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["reserve", "ship"])
        Self.undo(engine, recorder, ["reserve"])
        S.script(engine, recorder, "charge", [.fail(.permanent("declined"))])
        let record = try await engine.execute(Self.pivoted, input: Self.input, id: "pivot-fails")
        #expect(record.status == .compensated)
        #expect(recorder.invocations(of: "reserve.undo").count == 1)
        #expect(recorder.invocations(of: "ship").isEmpty)
    }

    // MARK: Cancellation

    @Test(.timeLimit(.minutes(1)))
    func cancellingASagaInALongStepCompensatesOnceTheStepReturns() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        let bStarted = TestSignal()
        let release = TestSignal()
        S.succeed(engine, recorder, ["a", "c"])
        Self.undo(engine, recorder, ["a", "b", "c"])
        S.script(engine, recorder, "b", [
            .fire(bStarted, then: .waitFor(release, timeout: .seconds(20), then: .succeed(["id": "B"])))
        ])
        let definition = S.definition(S.linear(["a", "b", "c"]))
        let run = Task { try await engine.execute(definition, input: Self.input, id: "cancel-me") }
        #expect(await bStarted.wait(timeout: .seconds(10)))
        let requested = try await engine.cancel(sagaID: "cancel-me", reason: "customer changed their mind")
        #expect(requested.cancelRequested)
        // The engine journals the request and begins compensating, but waits for b, which may still take effect.
        let compensating = try await S.eventually {
            try await engine.store.events(sagaID: "cancel-me").contains { $0.type == .sagaCompensating }
        }
        #expect(compensating)
        #expect(!release.isFired)
        release.fire()
        let record = try await run.value
        #expect(record.status == .compensated)
        let events = try await engine.store.events(sagaID: "cancel-me")
        #expect(
            S.trace(events) == [
                "saga.started",
                "step.started:a", "step.succeeded:a",
                "step.started:b",
                "saga.cancel_requested", "saga.compensating",
                "step.succeeded:b",
                "compensation.started:b", "compensation.succeeded:b",
                "compensation.started:a", "compensation.succeeded:a",
                "saga.compensated",
            ])
        #expect(events.first { $0.type == .cancelRequested }?.error == "customer changed their mind")
        #expect(events.first { $0.type == .sagaCompensating }?.error == "cancelled: customer changed their mind")
        #expect(recorder.invocations(of: "c").isEmpty)
        #expect(recorder.invocations(of: "b.undo").map(\.output) == [["id": "B"]])
    }

    @Test(.timeLimit(.minutes(1)))
    func aSagaCancelledBeforeItRunsCompensatesNothing() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a"])
        try await engine.start(S.definition(S.linear(["a"])), input: Self.input, id: "early")
        try await engine.cancel(sagaID: "early", reason: "oops")
        let record = try await engine.run(sagaID: "early")
        #expect(record.status == .compensated)
        #expect(recorder.invocations.isEmpty)
        #expect(try await S.trace(engine, "early") == ["saga.started", "saga.cancel_requested", "saga.compensating", "saga.compensated"])
        // A finished saga cannot be cancelled.
        let error = await #expect(throws: SagaError.self) { try await engine.cancel(sagaID: "early", reason: "again") }
        #expect(error?.code == .invalidState)
    }

    // MARK: Starting

    @Test(.timeLimit(.minutes(1)))
    func startIsIdempotentAndRefusesAnotherInput() async throws {
        let engine = S.engine()
        let definition = S.definition(S.linear(["a"]))
        let first = try await engine.start(definition, input: Self.input, id: "dup")
        let second = try await engine.start(definition, input: Self.input, id: "dup")
        #expect(first == second)
        #expect(first.status == .pending)
        #expect(try await engine.store.events(sagaID: "dup").count == 1)
        let error = await #expect(throws: SagaError.self) {
            try await engine.start(definition, input: ["orderId": "o-2"], id: "dup")
        }
        #expect(error?.code == .sagaConflict)
        #expect(error?.sagaID == "dup")
        #expect(try await engine.store.saga(id: "dup")?.input == Self.input)
    }

    static let invalidInputs: [(JSONValue, String)] = [
        (["sku": "x"], "input: missing required member 'orderId'"),
        ("o-1", "input: expected object, got string"),
        (["orderId": 7], "input.orderId: expected string, got integer"),
    ]

    @Test(.timeLimit(.minutes(1)), arguments: invalidInputs)
    func invalidInputIsRefused(_ input: JSONValue, _ problem: String) async throws {
        let engine = S.engine()
        let schema = InputSchema(types: ["object"], required: ["orderId"], properties: ["orderId": InputSchema(types: ["string"])])
        let definition = S.definition(S.linear(["a"]), input: schema)
        let error = await #expect(throws: SagaError.self) {
            try await engine.start(definition, input: input, id: "bad")
        }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains(problem) == true, "\(error?.message ?? "")")
        #expect(try await engine.store.saga(id: "bad") == nil)
    }

    // MARK: Resolution failures

    @Test(.timeLimit(.minutes(1)))
    func aTemplateNamingAMissingValueFailsPermanently() async throws {
        let engine = S.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["reserve"])
        let definition = S.definition([
            S.step("reserve", after: [], input: ["sku": "${input.sku}"], retry: S.fastRetry(5))
        ])
        let record = try await engine.execute(definition, input: Self.input, id: "tmpl")
        #expect(record.status == .compensated)
        #expect(recorder.invocations.isEmpty)
        let events = try await engine.store.events(sagaID: "tmpl")
        #expect(S.trace(events) == ["saga.started", "step.started:reserve", "step.failed:reserve", "saga.compensating", "saga.compensated"])
        let failed = try #require(events.first { $0.type == .stepFailed })
        #expect(failed.retryable == false)
        #expect(failed.error == "saga tmpl, step reserve: template ${input.sku} names a missing value")
    }

    @Test(.timeLimit(.minutes(1)))
    func aMissingHandlerFailsPermanentlyNamingIt() async throws {
        let engine = S.engine()
        let definition = S.definition([S.step("reserve", after: [], retry: S.fastRetry(5))])
        let record = try await engine.execute(definition, input: Self.input, id: "nohandler")
        #expect(record.status == .compensated)
        let events = try await engine.store.events(sagaID: "nohandler")
        let failed = try #require(events.first { $0.type == .stepFailed })
        #expect(failed.retryable == false)
        #expect(failed.error == "saga nohandler, step reserve: no handler registered under 'reserve'")
        #expect(events.filter { $0.type == .stepStarted }.count == 1)
    }

    // MARK: Recovery, workers and leases

    @Test(.timeLimit(.minutes(1)))
    func anAttemptLeftInFlightByADeadWorkerIsJournaledUnknownAndRerun() async throws {
        let store = MemorySagaStore()
        let definition = S.definition(S.linear(["a", "b"]))
        let id = "orphan"
        let past = Date().addingTimeInterval(-120)
        let record = SagaRecord(
            id: id, workflow: definition.name, version: definition.version, definition: definition.json.jsonString,
            baseDirectory: nil, input: Self.input, status: .pending, createdAt: past, updatedAt: past
        )
        try await store.create(record, events: [SagaEvent(seq: 1, at: past, type: .sagaStarted, data: ["input": Self.input])])
        let dead = "otherhost:1:1"
        let expired = past.addingTimeInterval(15)
        #expect(try await store.claim(sagaID: id, owner: dead, now: past, leaseUntil: expired) != nil)
        try await store.append(
            [
                SagaEvent(seq: 2, at: past, type: .stepStarted, step: "a", attempt: 1, idempotencyKey: Self.key(id, "a")),
                SagaEvent(seq: 3, at: past, type: .stepSucceeded, step: "a", attempt: 1, output: ["step": "a"]),
                SagaEvent(seq: 4, at: past, type: .stepStarted, step: "b", attempt: 1, idempotencyKey: Self.key(id, "b")),
            ],
            sagaID: id, owner: dead, progress: SagaProgress(status: .running, currentStep: "b"), leaseUntil: expired
        )

        let engine = S.engine(store: store)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b"])
        let result = try await engine.run(sagaID: id)
        #expect(result.status == .completed)
        let events = try await store.events(sagaID: id)
        #expect(
            S.trace(events) == [
                "saga.started", "step.started:a", "step.succeeded:a", "step.started:b",
                "step.unknown:b", "step.started:b", "step.succeeded:b", "saga.completed",
            ])
        let unknown = try #require(events.first { $0.type == .stepUnknown })
        #expect(unknown.attempt == 1)
        #expect(unknown.error?.hasPrefix("interrupted") == true)
        #expect(recorder.invocations.map(\.step) == ["b"], "a is not re-run")
        #expect(recorder.invocations.first?.attempt == 2)
        #expect(recorder.invocations.first?.idempotencyKey == Self.key(id, "b"))
        #expect(events[5].idempotencyKey == events[3].idempotencyKey)
    }
}
