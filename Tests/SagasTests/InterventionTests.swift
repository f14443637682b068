import Foundation
import Logging
import Sagas
import SagasTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock time that a test can move forward: the real time plus an offset, so backoff still elapses.
final class MovableNow: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    func advance(by duration: Duration) {
        let seconds = Double(SagaDuration.milliseconds(duration)) / 1000
        offset.withLock { $0 += seconds }
    }

    var date: Date { Date().addingTimeInterval(offset.withLock { $0 }) }
}

/// The intervention queue against the in-memory store: opening, resolving (retry, skip, abandon), reconciliation
/// passes, stuck sagas, and racing reconcilers.
@Suite(.timeLimit(.minutes(1)))
struct InterventionTests {
    typealias S = TestSupport

    static let input: JSONValue = ["orderId": "o-1"]

    /// a → b → c, each compensable; b's compensation gets `compensationAttempts` attempts before it needs a person.
    static func definition(
        compensationAttempts: Int = 2,
        reconciliation: ReconciliationSettings? = nil
    ) -> SagaDefinition {
        var definition = S.definition([
            S.step("a", after: []),
            S.step("b", after: ["a"], compensationRetry: S.fastRetry(compensationAttempts)),
            S.step("c", after: ["b"]),
        ])
        definition.reconciliation = reconciliation
        return definition
    }

    static func engine(
        store: any SagaStore = MemorySagaStore(),
        workerID: String = "test:1:1",
        now: MovableNow = MovableNow()
    ) -> SagaEngine {
        SagaEngine(
            store: store,
            configuration: .init(
                workerID: workerID,
                leaseDuration: .seconds(30),
                concurrency: 4,
                pollInterval: .milliseconds(10),
                environment: [:]
            ),
            logger: S.logger,
            now: { now.date }
        )
    }

    /// Registers a, b, c (c fails for good), a.undo (succeeds) and b.undo (follows `undo`).
    static func register(
        _ engine: SagaEngine,
        _ recorder: HandlerRecorder,
        undo: [ScriptedOutcome] = [],
        otherwise: ScriptedOutcome = .fail(.retryable("refund API down"))
    ) {
        S.succeed(engine, recorder, ["a", "b"])
        S.script(engine, recorder, "c", [], otherwise: .fail(.permanent("card declined")))
        engine.register(handler: "a.undo", recorder.recording("a.undo") { _ in ["undone": "a"] })
        S.script(engine, recorder, "b.undo", undo, otherwise: otherwise)
    }

    /// Checks what every saga journal must satisfy: numbered 1…n, replays, and no intervention resolved twice.
    static func checkJournal(_ engine: SagaEngine, _ id: String, sourceLocation: Testing.SourceLocation = #_sourceLocation)
        async throws
    {
        let snapshot = try await engine.snapshot(sagaID: id)
        #expect(snapshot.events.map(\.seq) == Array(1...snapshot.events.count), "saga \(id)", sourceLocation: sourceLocation)
        #expect(snapshot.state != nil, "saga \(id): the journal does not replay", sourceLocation: sourceLocation)
        let resolved = snapshot.events.filter { $0.type == .interventionResolved }
            .compactMap { $0.data?["intervention"]?.stringValue }
        #expect(resolved.count == Set(resolved).count, "saga \(id) resolved an intervention twice: \(resolved)", sourceLocation: sourceLocation)
        let opened = Set(snapshot.events.filter { $0.type == .sagaNeedsIntervention }.map { "\(id)#\($0.seq)" })
        #expect(Set(resolved).isSubset(of: opened), "saga \(id) resolved what never opened: \(resolved)", sourceLocation: sourceLocation)
    }

    // MARK: A compensation that fails for good

    @Test func aFailedCompensationWaitsAndSkipRunsTheRest() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        let record = try await engine.execute(Self.definition(), input: Self.input, id: "skip-1")
        #expect(record.status == .needsIntervention)

        let open = try await engine.interventions()
        try #require(open.count == 1, "\(open)")
        let summary = open[0]
        #expect(summary.intervention.sagaID == "skip-1")
        #expect(summary.intervention.step == "b")
        #expect(summary.intervention.phase == .compensation)
        #expect(summary.intervention.reason == "compensation of step 'b' failed: refund API down")
        #expect(summary.lastError == "refund API down")
        #expect(summary.errors == ["refund API down", "refund API down"])
        #expect(summary.attempts == 2)
        #expect(summary.automaticRetries == 0)
        #expect(summary.workflow == "order")
        let seq = try #require(try await engine.store.events(sagaID: "skip-1").last { $0.type == .sagaNeedsIntervention }?.seq)
        #expect(summary.intervention.id == "skip-1#\(seq)")
        #expect(recorder.invocations(of: "a.undo").isEmpty, "the later compensation waits for the person")

        let resolved = try await engine.resolve(
            summary.intervention.id, .skip(output: nil), by: "alice", note: "refunded by hand, ticket 4411"
        )
        #expect(resolved.status == .compensating, "a skip hands the saga back to the workers")
        #expect(recorder.invocations(of: "a.undo").isEmpty, "resolve itself runs nothing")
        let finished = try await engine.run(sagaID: "skip-1")
        #expect(finished.status == .compensated)
        #expect(recorder.invocations(of: "a.undo").count == 1)
        #expect(recorder.invocations(of: "b.undo").count == 2, "a skipped compensation is not run again")

        let events = try await engine.store.events(sagaID: "skip-1")
        #expect(
            Array(S.trace(events).suffix(5)) == [
                "saga.needs_intervention:b", "intervention.resolved:b",
                "compensation.started:a", "compensation.succeeded:a", "saga.compensated",
            ])
        let resolution = try #require(events.first { $0.type == .interventionResolved })
        #expect(
            resolution.data == [
                "action": "skip", "by": "alice", "note": "refunded by hand, ticket 4411",
                "intervention": .string(summary.intervention.id),
            ])
        let history = try await engine.interventions(sagaID: "skip-1")
        #expect(history.count == 1)
        #expect(history.first?.intervention.resolution?.by == "alice")
        #expect(history.first?.intervention.resolution?.note == "refunded by hand, ticket 4411")
        #expect(try await engine.interventions().isEmpty)
        try await Self.checkJournal(engine, "skip-1")
    }

    @Test func resolvingTwiceSaysByWhom() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        _ = try await engine.execute(Self.definition(), input: Self.input, id: "twice")
        let id = try #require(try await engine.interventions().first?.intervention.id)
        try await engine.resolve(id, .skip(output: nil), by: "alice", note: "done by hand")
        let before = try await engine.store.events(sagaID: "twice").count
        do {
            try await engine.resolve(id, .retry(input: nil, attempts: nil), by: "bob", note: nil)
            Issue.record("a second resolution was accepted")
        } catch let error as SagaError {
            #expect(error.code == .invalidState)
            #expect(error.message.contains("already resolved: skip by alice"), "\(error.message)")
            #expect(error.message.contains("done by hand"), "\(error.message)")
        }
        #expect(try await engine.store.events(sagaID: "twice").count == before)
    }

    @Test func badInterventionIDs() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        _ = try await engine.execute(Self.definition(), input: Self.input, id: "ids")
        await #expect(throws: SagaError.self) { try await engine.resolve("ids#x", .abandon, by: "a", note: "n") }
        do {
            try await engine.resolve("ids#2", .abandon, by: "a", note: "n")
            Issue.record("resolved an event that is not an intervention")
        } catch let error as SagaError {
            #expect(error.code == .sagaNotFound)
        }
        do {
            try await engine.resolve("nope", .abandon, by: "a", note: "n")
            Issue.record("resolved a saga that does not exist")
        } catch let error as SagaError {
            #expect(error.code == .sagaNotFound)
        }
        // By saga id: its open intervention.
        let record = try await engine.resolve("ids", .skip(output: nil), by: "a", note: "n")
        #expect(record.status == .compensating)
    }

    @Test func abandonFailsTheSaga() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        _ = try await engine.execute(Self.definition(), input: Self.input, id: "abandon")
        let record = try await engine.resolve("abandon", .abandon, by: "bob", note: "customer compensated off-system")
        #expect(record.status == .failed)
        #expect(try await engine.run(sagaID: "abandon").status == .failed)
        #expect(recorder.invocations(of: "a.undo").isEmpty, "abandon gives up on the remaining compensations")
        let events = try await engine.store.events(sagaID: "abandon")
        #expect(Array(S.trace(events).suffix(2)) == ["intervention.resolved:b", "saga.failed"])
        #expect(events.last?.error == "abandoned by bob: customer compensated off-system")
        try await Self.checkJournal(engine, "abandon")
    }

    @Test func retryWithCorrectedInput() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder, undo: [.fail(.permanent("no such refund account"))], otherwise: .succeed(["refunded": true]))
        let record = try await engine.execute(Self.definition(), input: Self.input, id: "input")
        #expect(record.status == .needsIntervention)
        #expect(recorder.invocations(of: "b.undo").count == 1, "a permanent failure is not retried")
        let corrected: JSONValue = ["orderId": "o-1", "account": "acct-2"]
        let resolved = try await engine.resolve("input", .retry(input: corrected, attempts: nil), by: "carol", note: nil)
        #expect(resolved.status == .compensating)
        #expect(try await engine.run(sagaID: "input").status == .compensated)
        let calls = recorder.invocations(of: "b.undo")
        #expect(calls.map(\.input) == [Self.input, corrected], "the retried compensation reads the corrected input")
        #expect(recorder.invocations(of: "a.undo").map(\.input) == [Self.input], "other steps keep the saga's input")
        try await Self.checkJournal(engine, "input")
    }

    // MARK: Reconciliation

    @Test func reconciliationRetriesUntilTheCompensationSucceeds() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        // Attempts 1 to 4 fail; the fifth succeeds.
        Self.register(engine, recorder, undo: Array(repeating: .fail(.retryable("refund API down")), count: 4), otherwise: .succeed(["refunded": true]))
        #expect(try await engine.execute(Self.definition(), input: Self.input, id: "heal").status == .needsIntervention)
        let policy = ReconciliationPolicy(retryInterval: .zero, maxAutomaticRetries: 5)
        var ids: [String] = []
        for pass in 1...3 {
            let open = try await engine.interventions()
            try #require(open.count == 1, "pass \(pass): \(open)")
            #expect(open[0].automaticRetries == pass - 1)
            ids.append(open[0].intervention.id)
            let report = try await engine.reconcile(policy: policy)
            let retried = report.entries.filter { $0.action == "retried" }
            #expect(retried.map(\.sagaID) == ["heal"], "pass \(pass): \(report.entries)")
            #expect(recorder.invocations(of: "b.undo").count == 2 + pass, "one attempt per automatic retry")
        }
        #expect(Set(ids).count == 3, "each failed retry opens a new intervention: \(ids)")
        let record = try #require(try await engine.store.saga(id: "heal"))
        #expect(record.status == .compensated)
        #expect(recorder.invocations(of: "a.undo").count == 1)
        let resolutions = try await engine.store.events(sagaID: "heal").filter { $0.type == .interventionResolved }
        #expect(resolutions.map { $0.data?["by"] } == Array(repeating: "reconciliation", count: 3))
        #expect(resolutions.map { $0.data?["action"] } == ["retry", "retry", "retry"])
        #expect(resolutions.map { $0.data?["attempts"] } == [1, 1, 1])
        #expect(resolutions.compactMap { $0.data?["intervention"]?.stringValue } == ids)
        #expect(resolutions.first?.data?["note"] == "automatic retry 1 of 5")
        #expect(try await engine.reconcile(policy: policy).entries.isEmpty, "nothing left to do")
        try await Self.checkJournal(engine, "heal")
    }

    @Test func reconciliationWaitsForTheRetryIntervalAndStopsAtTheLimit() async throws {
        let now = MovableNow()
        let engine = Self.engine(now: now)
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        #expect(try await engine.execute(Self.definition(), input: Self.input, id: "slow").status == .needsIntervention)
        let policy = ReconciliationPolicy(retryInterval: .seconds(600), maxAutomaticRetries: 2)

        var report = try await engine.reconcile(policy: policy)
        #expect(report.entries.map(\.action) == ["needs_person"])
        #expect(report.entries.first?.detail.contains("automatic retry 1 of 2 not yet due") == true, "\(report.entries)")
        #expect(recorder.invocations(of: "b.undo").count == 2)

        now.advance(by: .seconds(601))
        report = try await engine.reconcile(policy: policy)
        #expect(report.entries.map(\.action) == ["retried"], "\(report.entries)")
        #expect(recorder.invocations(of: "b.undo").count == 3)

        // The interval counts from the last automatic retry.
        report = try await engine.reconcile(policy: policy)
        #expect(report.entries.map(\.action) == ["needs_person"], "\(report.entries)")
        #expect(recorder.invocations(of: "b.undo").count == 3)

        now.advance(by: .seconds(601))
        report = try await engine.reconcile(policy: policy)
        #expect(report.entries.map(\.action) == ["retried"], "\(report.entries)")
        #expect(recorder.invocations(of: "b.undo").count == 4)

        // Used up: even forced and long after, only a person can settle it.
        now.advance(by: .seconds(6000))
        report = try await engine.reconcile(policy: policy, force: true)
        #expect(report.entries.map(\.action) == ["needs_person"], "\(report.entries)")
        #expect(report.entries.first?.detail.contains("automatic retries used up") == true, "\(report.entries)")
        #expect(recorder.invocations(of: "b.undo").count == 4)
        #expect(try await engine.interventions().first?.automaticRetries == 2)
        #expect(report.json["needsPerson"]?.arrayValue?.count == 1)
        #expect(report.json["actions"]?.arrayValue?.isEmpty == true)
        try await Self.checkJournal(engine, "slow")
    }

    @Test func aWorkflowsMaxAutomaticRetriesOfZeroIsHonoured() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        let definition = Self.definition(reconciliation: ReconciliationSettings(maxAutomaticRetries: 0))
        #expect(try await engine.execute(definition, input: Self.input, id: "manual").status == .needsIntervention)
        let report = try await engine.reconcile(policy: ReconciliationPolicy(retryInterval: .zero, maxAutomaticRetries: 3), force: true)
        #expect(report.entries.map(\.action) == ["needs_person"], "\(report.entries)")
        #expect(report.entries.first?.detail.contains("automatic retries used up") == true)
        #expect(recorder.invocations(of: "b.undo").count == 2, "no automatic retry")
        #expect(try await engine.store.events(sagaID: "manual").allSatisfy { $0.type != .interventionResolved })
    }

    @Test func aWorkflowsRetryIntervalOverridesTheGlobalOne() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        Self.register(engine, recorder)
        // The workflow retries at every pass; another workflow keeps the global hour.
        let eager = Self.definition(reconciliation: ReconciliationSettings(retryInterval: .zero))
        var patient = Self.definition()
        patient.name = "patient"
        #expect(try await engine.execute(eager, input: Self.input, id: "eager").status == .needsIntervention)
        #expect(try await engine.execute(patient, input: Self.input, id: "patient").status == .needsIntervention)
        let report = try await engine.reconcile(policy: ReconciliationPolicy(retryInterval: .seconds(3600), maxAutomaticRetries: 3))
        let actions = Dictionary(report.entries.map { ($0.sagaID, $0.action) }, uniquingKeysWith: { a, b in a + "," + b })
        #expect(actions == ["eager": "retried", "patient": "needs_person"], "\(report.entries)")
        // The unset field keeps the global value: 3 retries, then a person.
        for _ in 0..<3 { _ = try await engine.reconcile(policy: ReconciliationPolicy(retryInterval: .seconds(3600), maxAutomaticRetries: 3)) }
        let summary = try #require(try await engine.interventions(workflow: "order").first)
        #expect(summary.automaticRetries == 3)
    }

    // MARK: Unknown outcomes

    enum ProbeSettlement: String, CaseIterable, Sendable {
        case skip
        case reconcileHappened
        case reconcileNotHappened
    }

    @Test(arguments: ProbeSettlement.allCases)
    func aProbeThatCannotTellNeedsAPerson(_ settlement: ProbeSettlement) async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        let id = "probe-\(settlement.rawValue)"
        // The first attempt times out; the probe cannot tell twice, then answers on its third attempt.
        S.script(engine, recorder, "pay", [.hang], otherwise: .succeed(["paymentId": "p-2"]))
        S.script(
            engine, recorder, "pay.probe", [.error("ledger unreachable"), .error("ledger unreachable")],
            otherwise: .succeed(settlement == .reconcileNotHappened ? false : true)
        )
        S.succeed(engine, recorder, ["ship"])
        let definition = S.definition([
            S.step("pay", after: [], compensation: false, probe: true, retry: S.fastRetry(2), timeout: .milliseconds(300), kind: .pivot),
            S.step("ship", after: ["pay"], compensation: false, kind: .retriable),
        ])
        let record = try await engine.execute(definition, input: Self.input, id: id)
        #expect(record.status == .needsIntervention)
        let open = try await engine.interventions()
        try #require(open.count == 1)
        #expect(open[0].intervention.step == "pay")
        #expect(open[0].intervention.phase == .probe)
        #expect(open[0].intervention.reason.contains("probe could not settle it"), "\(open[0].intervention.reason)")
        #expect(open[0].attempts == 2)
        #expect(recorder.invocations(of: "ship").isEmpty)

        switch settlement {
        case .skip:
            try await engine.resolve(open[0].intervention.id, .skip(output: ["paymentId": "p-1"]), by: "dave", note: "ledger shows p-1")
            #expect(try await engine.run(sagaID: id).status == .completed)
            #expect(recorder.invocations(step: "pay", phase: .probe).count == 2, "a skip does not probe again")
            #expect(recorder.invocations(of: "ship").first?.output == nil)
            let snapshot = try await engine.snapshot(sagaID: id)
            #expect(snapshot.state?.outputs["pay"] == ["paymentId": "p-1"])
        case .reconcileHappened, .reconcileNotHappened:
            let report = try await engine.reconcile(policy: .init(retryInterval: .zero), force: true)
            #expect(report.entries.map(\.action) == ["retried"], "\(report.entries)")
            #expect(try await engine.store.saga(id: id)?.status == .completed)
            #expect(recorder.invocations(step: "pay", phase: .probe).map(\.attempt) == [1, 2, 3], "the probe ran again")
            let trace = try await S.trace(engine, id)
            if settlement == .reconcileHappened {
                #expect(trace.contains("probe.happened:pay"))
                #expect(recorder.invocations(step: "pay", phase: .action).count == 1, "it happened: no second charge")
            } else {
                #expect(trace.contains("probe.not_happened:pay"))
                #expect(recorder.invocations(step: "pay", phase: .action).count == 2, "it did not happen: charged again")
            }
        }
        #expect(recorder.invocations(of: "ship").count == 1)
        try await Self.checkJournal(engine, id)
    }

    @Test func aStepAfterThePivotIsRetriedByReconciliation() async throws {
        let engine = Self.engine()
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["charge"])
        S.script(engine, recorder, "ship", [.error("carrier down"), .error("carrier down")], otherwise: .succeed(["tracking": "t-1"]))
        let definition = S.definition([
            S.step("charge", after: [], compensation: false, kind: .pivot),
            S.step("ship", after: ["charge"], compensation: false, retry: S.fastRetry(2), kind: .retriable),
        ])
        #expect(try await engine.execute(definition, input: Self.input, id: "ship").status == .needsIntervention)
        let open = try #require(try await engine.interventions().first)
        #expect(open.intervention.phase == .action)
        #expect(open.suggestion.contains("past its pivot"))
        let report = try await engine.reconcile(policy: .init(retryInterval: .zero))
        #expect(report.entries.first?.detail.contains("succeeded; the saga is completed") == true, "\(report.entries)")
        #expect(try await engine.store.saga(id: "ship")?.status == .completed)
        #expect(!S.trace(try await engine.store.events(sagaID: "ship")).contains("saga.compensating"))
    }

    // MARK: Stuck sagas

    /// A dead process's id: a child that has exited and been reaped.
    static func deadPID() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exit 0"]
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func stuckSagasAreHandedBackAndLiveOnesLeftAlone() async throws {
        let store: any SagaStore = MemorySagaStore()
        let engine = Self.engine(store: store)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a", "b", "c"])
        engine.register(handler: "a.undo", recorder.recording("a.undo") { _ in .null })
        engine.register(handler: "b.undo", recorder.recording("b.undo") { _ in .null })
        let t = Date()
        // A worker of this machine and PID namespace that is gone (`WorkerIdentity`): a host name and a dead PID
        // alone no longer suffice.
        let localDead = try WorkerIdentityTests.deadWorker()
        let owners: [(id: String, owner: String, lease: Date)] = [
            ("expired", "otherhost:1:1", t.addingTimeInterval(-5)),
            ("dead-local", localDead, t.addingTimeInterval(600)),
            ("alive", "otherhost:2:2", t.addingTimeInterval(600)),
        ]
        for o in owners {
            try await engine.start(Self.definition(), input: Self.input, id: o.id)
            let claimed = try await store.claim(sagaID: o.id, owner: o.owner, now: t, leaseUntil: o.lease)
            #expect(claimed?.owner == o.owner)
        }
        let report = try await engine.reconcile()
        let released = report.entries.filter { $0.action == "released" }
        #expect(Set(released.map(\.sagaID)) == ["expired", "dead-local"], "\(report.entries)")
        #expect(released.first { $0.sagaID == "expired" }?.detail.contains("otherhost:1:1") == true)
        #expect(try await store.saga(id: "alive")?.owner == "otherhost:2:2", "a live lease is not touched")

        // A worker finishes them at once (no waiting for a lease).
        for id in ["expired", "dead-local"] {
            let record = try await engine.run(sagaID: id)
            #expect(record.status == .completed, "\(id)")
            try await Self.checkJournal(engine, id)
        }
        #expect(try await store.saga(id: "alive")?.status == .pending)
    }

    /// A saga handed back stays handed back: the next pass, before any worker took it, has nothing to report.
    @Test
    func aReleasedSagaIsNotReleasedAgain() async throws {
        let store: any SagaStore = MemorySagaStore()
        let engine = Self.engine(store: store)
        let t = Date()
        try await engine.start(Self.definition(), input: Self.input, id: "once")
        _ = try await store.claim(sagaID: "once", owner: "otherhost:1:1", now: t, leaseUntil: t.addingTimeInterval(-5))
        let first = try await engine.reconcile()
        #expect(first.entries.map(\.action) == ["released"], "\(first.entries)")
        let second = try await engine.reconcile()
        #expect(second.entries.isEmpty, "released again: \(second.entries.map(\.detail))")
    }

    @Test func attemptsFarPastTheirTimeoutAreReported() async throws {
        let store: any SagaStore = MemorySagaStore()
        let now = MovableNow()
        let engine = Self.engine(store: store, now: now)
        try await engine.start(Self.definition(), input: Self.input, id: "slowpoke")
        let owner = "otherhost:3:3"
        let t = now.date
        _ = try await store.claim(sagaID: "slowpoke", owner: owner, now: t, leaseUntil: t.addingTimeInterval(100_000))
        let started = SagaEvent(
            seq: 2, at: t, type: .stepStarted, step: "a", attempt: 1,
            idempotencyKey: SagaStateMachine.idempotencyKey(sagaID: "slowpoke", step: "a", phase: .action)
        )
        try await store.append(
            [started], sagaID: "slowpoke", owner: owner, progress: SagaProgress(status: .running, currentStep: "a"),
            leaseUntil: t.addingTimeInterval(100_000)
        )
        // The step's timeout is 10s; three times that is overdue.
        now.advance(by: .seconds(20))
        #expect(try await engine.reconcile().entries.isEmpty)
        now.advance(by: .seconds(20))
        let report = try await engine.reconcile()
        #expect(report.entries.map(\.action) == ["overdue"], "\(report.entries)")
        #expect(report.entries.first?.step == "a")
        #expect(report.entries.first?.detail.contains(owner) == true)
        #expect(try await store.saga(id: "slowpoke")?.owner == owner, "reporting does not take the saga")
    }

    // MARK: Races

    @Test(.timeLimit(.minutes(2)))
    func racingReconcilersAndAWorkerNeverResolveTwice() async throws {
        let store: any SagaStore = MemorySagaStore()
        let worker = Self.engine(store: store, workerID: "worker:1:1")
        let first = Self.engine(store: store, workerID: "reconciler:1:1")
        let second = Self.engine(store: store, workerID: "reconciler:2:2")
        let recorder = HandlerRecorder()
        for engine in [worker, first, second] { Self.register(engine, recorder) }
        let ids = (0..<10).map { "race-\($0)" }
        for id in ids { try await worker.start(Self.definition(), input: Self.input, id: id) }
        try await worker.runUntilIdle()
        #expect(try await worker.interventions().count == 10)

        let policy = ReconciliationPolicy(retryInterval: .zero, maxAutomaticRetries: 3)
        async let a = first.reconcile(policy: policy, force: true)
        async let b = second.reconcile(policy: policy, force: true)
        async let c: Void = worker.runUntilIdle()
        let (reportA, reportB, _) = try await (a, b, c)

        for id in ids {
            try await Self.checkJournal(worker, id)
            let record = try #require(try await store.saga(id: id))
            #expect(record.status == .needsIntervention, "b.undo always fails: \(id)")
            #expect(record.owner == nil)
        }
        let retried = (reportA.entries + reportB.entries).filter { $0.action == "retried" }
        let resolutions = try await ids.asyncMap { try await store.events(sagaID: $0) }
            .flatMap { $0 }.filter { $0.type == .interventionResolved }
        #expect(retried.count == resolutions.count, "every resolution is reported once")
        #expect(resolutions.count >= 10, "every saga was retried at least once")
        #expect(resolutions.count <= 20, "at most one retry per saga per pass: \(resolutions.count)")
        #expect((reportA.entries + reportB.entries).allSatisfy { ["retried", "conflict", "needs_person"].contains($0.action) })
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}

/// The `reconciliation` field of a workflow file: decoding, defaults and the round trip through the pinned JSON.
@Suite struct WorkflowReconciliationTests {
    static func workflow(_ reconciliation: String?) -> String {
        let field = reconciliation.map { #""reconciliation": \#($0),"# } ?? ""
        return #"{"name": "w", "version": 1, \#(field) "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}]}"#
    }

    @Test(arguments: [
        (#"{"retryInterval": "10m", "maxAutomaticRetries": 5}"#, ReconciliationSettings(retryInterval: .seconds(600), maxAutomaticRetries: 5)),
        (#"{"retryInterval": "250ms"}"#, ReconciliationSettings(retryInterval: .milliseconds(250))),
        (#"{"maxAutomaticRetries": 0}"#, ReconciliationSettings(maxAutomaticRetries: 0)),
        (#"{"maxAutomaticRetries": 100, "retryInterval": "0s"}"#, ReconciliationSettings(retryInterval: .zero, maxAutomaticRetries: 100)),
        (#"{}"#, ReconciliationSettings()),
    ])
    func decodesAndRoundTrips(_ text: String, _ expected: ReconciliationSettings) throws {
        let result = WorkflowLoader.load(string: Self.workflow(text), file: "w.json", kinds: .standard)
        #expect(!result.hasErrors, "\(result.diagnostics)")
        let definition = try #require(result.definition)
        #expect(definition.reconciliation == expected)
        // Written back with only the fields that are set, and read again equal.
        let written = definition.json
        let object = try #require(written["reconciliation"]?.objectValue)
        #expect(Set(object.keys) == Set([expected.retryInterval.map { _ in "retryInterval" }, expected.maxAutomaticRetries.map { _ in "maxAutomaticRetries" }].compactMap { $0 }))
        let again = WorkflowLoader.load(string: written.jsonString, file: "pinned", kinds: .standard)
        #expect(again.definition == definition, "\(again.diagnostics)")
    }

    @Test func absentMeansTheJobsSettings() throws {
        let definition = try #require(WorkflowLoader.load(string: Self.workflow(nil), file: "w.json", kinds: .standard).definition)
        #expect(definition.reconciliation == nil)
        #expect(definition.json["reconciliation"] == nil)
    }

    @Test func aSettingOverridesOnlyTheFieldsItSets() {
        let global = ReconciliationPolicy(retryInterval: .seconds(300), maxAutomaticRetries: 3, overdueFactor: 4)
        let onlyRetries = ReconciliationSettings(maxAutomaticRetries: 0).applied(to: global)
        #expect(onlyRetries == ReconciliationPolicy(retryInterval: .seconds(300), maxAutomaticRetries: 0, overdueFactor: 4))
        let onlyInterval = ReconciliationSettings(retryInterval: .seconds(600)).applied(to: global)
        #expect(onlyInterval == ReconciliationPolicy(retryInterval: .seconds(600), maxAutomaticRetries: 3, overdueFactor: 4))
        #expect(ReconciliationSettings().applied(to: global) == global)
    }
}
