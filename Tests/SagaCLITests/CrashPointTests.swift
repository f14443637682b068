import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Each named crash point (`SAGA_CRASH_AT`): the process dies there with SIGKILL, a normal worker recovers, and the
/// journal and the effects keep every rule.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CrashPointTests {
    /// A sandbox with the crash suite's workflow.
    static func sandbox() throws -> CLISandbox {
        let box = try CLISandbox()
        try CrashSuite.writeWorkflow(box)
        return box
    }

    /// `saga run` of one saga with `SAGA_CRASH_AT=point`; checks it died of SIGKILL.
    static func runAndCrash(
        _ box: CLISandbox,
        _ plan: CrashSuite.Plan,
        at point: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        let process = try box.start(
            ["run", CrashSuite.workflow, "--id", plan.id, "--input", plan.input.jsonString],
            environment: ["SAGA_CRASH_AT": point]
        )
        #expect(process.wait(timeout: 60) != nil, sourceLocation: sourceLocation)
        #expect(
            CrashSuite.signal(of: process) == SIGKILL,
            "saga run did not die of SIGKILL at \(point): exit \(process.process.terminationStatus)\n\(process.stderr)",
            sourceLocation: sourceLocation
        )
    }

    /// The journal of one saga as it is now.
    static func journal(_ box: CLISandbox, _ id: String) async throws -> [SagaEvent] {
        let store = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        return try await store.events(sagaID: id)
    }

    static func trace(_ events: [SagaEvent]) -> [String] {
        events.map { e in e.step.map { "\(e.type.rawValue):\($0)" } ?? e.type.rawValue }
    }

    static func interrupted(_ events: [SagaEvent]) -> [SagaEvent] {
        events.filter { $0.error?.hasPrefix("interrupted") == true }
    }

    static func effects(_ box: CLISandbox, _ step: String, _ phase: StepPhase) -> [JournalChecker.Effect] {
        CrashSuite.effects(box).filter { $0.step == step && $0.phase == phase }
    }

    @Test func afterAttemptJournaled() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-journaled")
        try Self.runAndCrash(box, plan, at: "after-attempt-journaled")
        let before = try await Self.journal(box, plan.id)
        #expect(Self.trace(before) == ["saga.started", "step.started:a"])
        #expect(Self.effects(box, "a", .action).isEmpty, "the action must not have run")

        try box.workUntilIdle(["--log-level", "error"])
        let (_, journals) = try await CrashSuite.check(box, plans: [plan])
        let events = try #require(journals.first?.events)
        let lost = Self.interrupted(events)
        #expect(lost.map(\.type) == [.stepUnknown] && lost.first?.step == "a" && lost.first?.attempt == 1, "\(Self.trace(events))")
        #expect(Self.effects(box, "a", .action).count == 1)
    }

    @Test func afterAction() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-action")
        try Self.runAndCrash(box, plan, at: "after-action")
        let before = try await Self.journal(box, plan.id)
        #expect(Self.trace(before) == ["saga.started", "step.started:a"])
        #expect(Self.effects(box, "a", .action).count == 1, "the action ran before the crash")

        try box.workUntilIdle(["--log-level", "error"])
        let (report, journals) = try await CrashSuite.check(box, plans: [plan])
        let events = try #require(journals.first?.events)
        #expect(Self.interrupted(events).map(\.type) == [.stepUnknown], "\(Self.trace(events))")
        // At least once, with one key: the action ran again after the crash.
        let runs = Self.effects(box, "a", .action)
        #expect(runs.count == 2 && Set(runs.map(\.key)) == ["p-action/a/action"])
        #expect(report.duplicateExecutions == 1)
    }

    @Test func insideCommit() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-commit")
        // Transactions of `saga run`: 1 the saga created, leased, with a started (one write); 2 a succeeded and b
        // started (dies before COMMIT).
        try Self.runAndCrash(box, plan, at: "inside-commit:2")
        let before = try await Self.journal(box, plan.id)
        #expect(Self.trace(before) == ["saga.started", "step.started:a"], "the transaction's events must be absent")
        #expect(Self.effects(box, "a", .action).count == 1)

        try box.workUntilIdle(["--log-level", "error"])
        let (_, journals) = try await CrashSuite.check(box, plans: [plan])
        let events = try #require(journals.first?.events)
        // The saga resumed from before the transaction: a's success was lost, so its attempt is interrupted.
        #expect(Array(Self.trace(events).prefix(3)) == ["saga.started", "step.started:a", "step.unknown:a"])
        #expect(Self.effects(box, "a", .action).count == 2)
    }

    @Test func insideTheFirstCommitNothingIsJournaled() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-create")
        try Self.runAndCrash(box, plan, at: "inside-commit")
        let store = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        #expect(try await store.saga(id: plan.id) == nil, "the saga was never acknowledged, so it must not exist")
        // Running it again starts it afresh.
        let again = try box.run(["run", CrashSuite.workflow, "--id", plan.id, "--input", plan.input.jsonString])
        #expect(again.status == 0, "\(again)")
        _ = try await CrashSuite.check(box, plans: [plan])
    }

    @Test func duringCompensation() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-undo", mode: "perm", at: "b")
        try Self.runAndCrash(box, plan, at: "during-compensation")
        let before = try await Self.journal(box, plan.id)
        #expect(Self.trace(before).last == "compensation.started:a", "\(Self.trace(before))")
        #expect(Self.effects(box, "a", .compensation).count == 1)

        try box.workUntilIdle(["--log-level", "error"])
        let (_, journals) = try await CrashSuite.check(box, plans: [plan])
        let events = try #require(journals.first?.events)
        #expect(Self.interrupted(events).map(\.type) == [.compensationUnknown], "\(Self.trace(events))")
        let undos = Self.effects(box, "a", .compensation)
        #expect(undos.count == 2 && Set(undos.map(\.key)) == ["p-undo/a/compensation"])
        #expect(Self.effects(box, "c", .action).isEmpty && Self.effects(box, "d", .action).isEmpty)
    }

    @Test func duringRecovery() async throws {
        let box = try Self.sandbox()
        let plan = CrashSuite.plan(id: "p-recovery")
        try Self.runAndCrash(box, plan, at: "after-action")
        let first = try await Self.journal(box, plan.id)

        // A worker dies while recovering the interrupted saga: before it journaled anything about it.
        let recovering = try box.start(["worker", "--until-idle", "--log-level", "error"], environment: ["SAGA_CRASH_AT": "during-recovery"])
        #expect(recovering.wait(timeout: 60) != nil)
        #expect(CrashSuite.signal(of: recovering) == SIGKILL, "the recovering worker did not die: \(recovering.stderr)")
        #expect(try await Self.journal(box, plan.id) == first, "the failed recovery journaled nothing")

        try box.workUntilIdle(["--log-level", "error"])
        let (_, journals) = try await CrashSuite.check(box, plans: [plan])
        let events = try #require(journals.first?.events)
        #expect(Self.interrupted(events).count == 1, "one interrupted attempt, journaled once: \(Self.trace(events))")
        #expect(Self.effects(box, "a", .action).count == 2)
    }

    /// Rule 12 says a saga whose worker died on this host is taken over "at once". A worker finds such sagas only
    /// when `claimNext` returns nothing (SagaEngine.claimOne), so while new sagas are pending, an interrupted saga
    /// waits for its lease to expire (`RandomKillTests` measures recovery p50 ≈ the 2 s lease).
    @Test
    func aDeadWorkersSagaIsTakenOverBeforeNewWork() async throws {
        let box = try Self.sandbox()
        let crashed = CrashSuite.plan(id: "p-first", delay: "0.01")
        try Self.runAndCrash(box, crashed, at: "after-action")
        let definition = try WorkflowLoader.definition(contentsOf: "\(box.customWorkflows)/\(CrashSuite.workflow).json", kinds: .standard)
        let pending = (0..<10).map { CrashSuite.plan(id: "p-next-\($0)", delay: "0.1") }
        try await CrashSuite.submit(pending, definition: definition, box: box)
        try box.workUntilIdle(["--concurrency", "1", "--lease", "60s", "--log-level", "error"], timeout: 90)
        let (_, journals) = try await CrashSuite.check(box, plans: [crashed] + pending)
        let byID = Dictionary(journals.map { ($0.record.id, $0.events) }, uniquingKeysWith: { a, _ in a })
        let recovered = try #require(byID[crashed.id].flatMap { Self.interrupted($0).first?.at })
        let finished = pending.compactMap { byID[$0.id]?.last?.at }
        let lastNewFinished = try #require(finished.max())
        #expect(recovered < lastNewFinished, "the interrupted saga was recovered only after all new work")
    }
}
