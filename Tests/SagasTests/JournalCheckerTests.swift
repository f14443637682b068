import Foundation
import Sagas
import SagasTesting
import Testing

/// The journal checker on real journals (run by the engine over a memory store), then on journals with one planted
/// bug each: the checker must flag every bug with the right rule.
@Suite(.timeLimit(.minutes(1)))
struct JournalCheckerTests {
    typealias Rule = JournalChecker.Rule

    /// Runs three sagas and returns their journals and what the handlers saw:
    /// - `done`: a → b → c, all succeed (b once after a retryable failure);
    /// - `undone`: a → b → c → d, d fails for good, so c, b and a are compensated in that order;
    /// - `diamond`: a → (b, c) → d, d fails for good; b and c are compensated before a.
    static func realJournals() async throws -> (journals: [JournalChecker.Journal], effects: [JournalChecker.Effect]) {
        let store = MemorySagaStore()
        let engine = TestSupport.engine(store: store)
        let recorder = HandlerRecorder()
        for name in ["a", "b", "c", "d"] {
            engine.register(handler: "\(name).undo", recorder.recording("\(name).undo") { _ in ["undone": .string(name)] })
        }
        engine.register(handler: "a", recorder.recording("a") { _ in ["step": "a"] })
        engine.register(handler: "c", recorder.recording("c") { _ in ["step": "c"] })
        // b fails once (retryable) in every saga, then succeeds.
        engine.register(
            handler: "b",
            recorder.recording("b", ScriptedHandler.make([.fail(.retryable("busy"))], otherwise: .succeed(["step": "b"])))
        )
        // d fails for good (only `undone` and `diamond` have a d).
        engine.register(handler: "d", recorder.recording("d") { _ in throw StepFailure.permanent("out of stock") })

        let linear3 = TestSupport.definition(TestSupport.linear(["a", "b", "c"]), name: "three")
        let linear4 = TestSupport.definition(TestSupport.linear(["a", "b", "c", "d"]), name: "four")
        let diamond = TestSupport.definition(
            [
                TestSupport.step("a", after: []),
                TestSupport.step("b", after: ["a"]),
                TestSupport.step("c", after: ["a"]),
                TestSupport.step("d", after: ["b", "c"]),
            ],
            name: "diamond"
        )
        let done = try await engine.execute(linear3, input: ["n": 1], id: "done")
        let undone = try await engine.execute(linear4, input: ["n": 2], id: "undone")
        let split = try await engine.execute(diamond, input: ["n": 3], id: "diamond")
        #expect(done.status == .completed)
        #expect(undone.status == .compensated)
        #expect(split.status == .compensated)

        var journals: [JournalChecker.Journal] = []
        for id in ["done", "undone", "diamond"] {
            let record = try #require(try await store.saga(id: id))
            journals.append(JournalChecker.Journal(record: record, events: try await store.events(sagaID: id)))
        }
        let effects = recorder.invocations.map {
            JournalChecker.Effect(sagaID: $0.sagaID, step: $0.step, phase: $0.phase, key: $0.idempotencyKey)
        }
        return (journals, effects)
    }

    /// Replaces the journal of saga `id`, renumbering its events from 1 unless `renumber` is false, and keeping the
    /// record's last number in step with it.
    static func mutate(
        _ journals: [JournalChecker.Journal],
        _ id: String,
        renumber: Bool = true,
        _ change: (inout [SagaEvent]) throws -> Void
    ) rethrows -> [JournalChecker.Journal] {
        try journals.map { journal in
            guard journal.record.id == id else { return journal }
            var copy = journal
            try change(&copy.events)
            if renumber {
                for i in copy.events.indices { copy.events[i].seq = i + 1 }
            }
            copy.record.lastSeq = copy.events.count
            return copy
        }
    }

    static func index(_ events: [SagaEvent], _ type: SagaEventType, _ step: String? = nil) throws -> Int {
        try #require(events.firstIndex { $0.type == type && (step == nil || $0.step == step) }, "no \(type) \(step ?? "")")
    }

    @Test func realJournalsAreClean() async throws {
        let (journals, effects) = try await Self.realJournals()
        let report = JournalChecker().check(journals, effects: effects)
        #expect(report.violations.isEmpty, "\(report)")
        #expect(report.sagas == 3)
        #expect(report.statuses == [.completed: 1, .compensated: 2])
        // b ran twice in each saga (a retryable failure, then success): two executions, one duplicate per saga.
        #expect(report.duplicateExecutions == 3)
        let undone = try #require(journals.first { $0.record.id == "undone" })
        let order = undone.events.filter { $0.type == .compensationStarted }.compactMap(\.step)
        #expect(order == ["c", "b", "a"])
    }

    @Test func theStoreEntryPointReadsEverySaga() async throws {
        let store = MemorySagaStore()
        let engine = TestSupport.engine(store: store)
        TestSupport.succeed(engine, HandlerRecorder(), ["a", "b"])
        for n in 0..<5 {
            try await engine.execute(TestSupport.definition(TestSupport.linear(["a", "b"])), input: ["n": .integer(n)], id: "s-\(n)")
        }
        let report = try await JournalChecker().check(store: store)
        #expect(report.sagas == 5)
        #expect(report.violations.isEmpty, "\(report)")
    }

    @Test func aSkippedCompensationIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = Self.mutate(journals, "undone") { events in
            events.removeAll { ($0.type == .compensationStarted || $0.type == .compensationSucceeded) && $0.step == "b" }
        }
        let report = JournalChecker().check(bad)
        #expect(report.brokenRules.contains(.compensation), "\(report)")
        #expect(report.violations.contains { $0.sagaID == "undone" && $0.message.contains("'b' may have taken effect") })
    }

    @Test func aReorderedCompensationIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = try Self.mutate(journals, "undone") { events in
            // Swap the whole compensation of c (started, succeeded) with that of b.
            let c = events.filter { $0.step == "c" && [.compensationStarted, .compensationSucceeded].contains($0.type) }
            let b = events.filter { $0.step == "b" && [.compensationStarted, .compensationSucceeded].contains($0.type) }
            let first = try Self.index(events, .compensationStarted, "c")
            events.removeAll { c.contains($0) || b.contains($0) }
            events.insert(contentsOf: b + c, at: first)
        }
        let report = JournalChecker().check(bad)
        #expect(report.brokenRules.contains(.compensation), "\(report)")
        #expect(report.violations.contains { $0.message.contains("reverse order of completion") }, "\(report)")
    }

    @Test func aCompensationBeforeADependentStepsIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = try Self.mutate(journals, "diamond") { events in
            // Move a's compensation first: b and c depend on a.
            let a = events.filter { $0.step == "a" && [.compensationStarted, .compensationSucceeded].contains($0.type) }
            events.removeAll { a.contains($0) }
            events.insert(contentsOf: a, at: try Self.index(events, .compensationStarted))
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .compensation && $0.message.contains("depends on it") }, "\(report)")
    }

    @Test func aForwardStepAfterCompensationBeganIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = try Self.mutate(journals, "undone") { events in
            let at = try Self.index(events, .sagaCompensating)
            let template = events[at]
            events.insert(
                SagaEvent(seq: 0, at: template.at, type: .stepStarted, step: "d", attempt: 2, idempotencyKey: "undone/d/action"),
                at: at + 1
            )
            events.insert(
                SagaEvent(seq: 0, at: template.at, type: .stepFailed, step: "d", attempt: 2, error: "x", retryable: false),
                at: at + 2
            )
        }
        let report = JournalChecker().check(bad)
        #expect(report.brokenRules.contains(.noForwardAfterCompensation), "\(report)")
        #expect(report.brokenRules.contains(.replay), "the state machine refuses it too: \(report)")
    }

    @Test func aDuplicatedEventIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = try Self.mutate(journals, "done", renumber: false) { events in
            let i = try Self.index(events, .stepSucceeded, "a")
            events.insert(events[i], at: i + 1)
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .replay && $0.message.contains("duplicated") }, "\(report)")
    }

    @Test func aGapIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = try Self.mutate(journals, "done", renumber: false) { events in
            let i = try Self.index(events, .stepStarted, "b")
            events.remove(at: i)
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .replay && $0.message.contains("missing") }, "\(report)")
    }

    @Test func twoKeysForOneStepAreFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = Self.mutate(journals, "done") { events in
            // b's second attempt carries another key.
            let attempts = events.indices.filter { events[$0].type == .stepStarted && events[$0].step == "b" }
            events[attempts[1]].idempotencyKey = "done/b/action-2"
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .attempts && $0.message.contains("action-2") }, "\(report)")
    }

    @Test func aSuccessThatNeverStartedIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = Self.mutate(journals, "done") { events in
            events.removeAll { $0.type == .stepStarted && $0.step == "a" }
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .attempts && $0.message.contains("never started") }, "\(report)")
    }

    @Test func aSagaThatDidNotFinishIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        var bad = try Self.mutate(journals, "done") { events in
            events.removeSubrange(try Self.index(events, .stepSucceeded, "b")...)
        }
        bad = bad.map { j in
            var j = j
            if j.record.id == "done" { j.record.status = .running }
            return j
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .terminal && $0.sagaID == "done" }, "\(report)")
        #expect(!report.brokenRules.contains(.replay), "the shortened journal still replays: \(report)")
        // Checking sagas still running is allowed on request.
        #expect(JournalChecker(requireFinished: false).check(bad).violations.isEmpty)
    }

    @Test func aRecordThatDisagreesWithItsJournalIsFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let bad = journals.map { j in
            var j = j
            if j.record.id == "undone" { j.record.status = .completed }
            return j
        }
        let report = JournalChecker().check(bad)
        #expect(report.violations.contains { $0.rule == .replay && $0.message.contains("replays to compensated") }, "\(report)")
    }

    @Test func twoSagasWithOneIdAreFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let report = JournalChecker().check(journals + [journals[0]])
        #expect(report.violations.contains { $0.rule == .isolation && $0.sagaID == "done" }, "\(report)")
    }

    @Test func effectsWithAnotherKeyOrNeverJournaledAreFlagged() async throws {
        let (journals, effects) = try await Self.realJournals()
        let otherKey = effects + [JournalChecker.Effect(sagaID: "done", step: "a", phase: .action, key: "done/a/other")]
        let report = JournalChecker().check(journals, effects: otherKey)
        #expect(report.violations.contains { $0.rule == .effects && $0.message.contains("done/a/other") }, "\(report)")
        #expect(report.duplicateExecutions == 4)

        // A compensation the journal never started, seen by a target: acted before journaling.
        let unjournaled = effects + [JournalChecker.Effect(sagaID: "done", step: "a", phase: .compensation, key: "done/a/compensation")]
        #expect(JournalChecker().check(journals, effects: unjournaled).violations.contains { $0.rule == .attempts })

        // A success no target saw.
        let missing = effects.filter { !($0.sagaID == "done" && $0.step == "c") }
        #expect(JournalChecker().check(journals, effects: missing).violations.contains { $0.rule == .effects && $0.sagaID == "done" })
    }

    @Test func overlappingAttemptsOfTwoWorkersAreFlagged() async throws {
        let (journals, _) = try await Self.realJournals()
        let t = SagaFixtures.epoch
        func span(_ step: String, _ worker: String, _ from: Double, _ to: Double) -> JournalChecker.AttemptSpan {
            .init(sagaID: "done", step: step, worker: worker, start: t + from, end: t + to)
        }
        let fine = [span("a", "1", 0, 1), span("b", "2", 1, 2), span("c", "1", 2.5, 3)]
        #expect(JournalChecker().check(journals, spans: fine).violations.isEmpty)
        let overlapping = [span("a", "1", 0, 1), span("b", "2", 0.5, 2)]
        let report = JournalChecker().check(journals, spans: overlapping)
        #expect(report.violations.contains { $0.rule == .isolation && $0.message.contains("overlapping") }, "\(report)")
    }
}
