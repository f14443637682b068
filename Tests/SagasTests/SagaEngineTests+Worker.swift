import Foundation
import Logging
import Sagas
import SagasTesting
import Synchronization
import Testing

/// The engine as a worker: driving submitted sagas, leases lost and taken over (the in-memory store, real clock).
extension SagaEngineTests {
    @Test(.timeLimit(.minutes(1)))
    func aWorkerDrivesEverySubmittedSagaToTheEnd() async throws {
        let engine = S.engine(concurrency: 4)
        let recorder = HandlerRecorder()
        S.succeed(engine, recorder, ["a"])
        Self.undo(engine, recorder, ["a"])
        // Every fifth saga's b fails, so some compensate.
        engine.register(handler: "b", recorder.recording("b") { context in
            if context.sagaID.hasSuffix("0") || context.sagaID.hasSuffix("5") { throw StepFailure.permanent("no") }
            return ["ok": true]
        })
        let definition = S.definition(S.linear(["a", "b"]))
        let ids = (0..<20).map { "bulk-\($0)" }
        for id in ids { try await engine.start(definition, input: Self.input, id: id) }
        try await engine.runUntilIdle()
        var statuses: [String: SagaStatus] = [:]
        for id in ids { statuses[id] = try await engine.store.saga(id: id)?.status }
        let compensated = Set(ids.filter { $0.hasSuffix("0") || $0.hasSuffix("5") })
        for id in ids {
            #expect(statuses[id] == (compensated.contains(id) ? .compensated : .completed), "\(id)")
        }
        #expect(recorder.invocations(of: "a").count == 20)
        #expect(recorder.invocations(of: "a.undo").count == compensated.count)
        #expect(try await engine.store.countByStatus() == [.completed: 16, .compensated: 4])
    }

    @Test(.timeLimit(.minutes(1)))
    func aWorkerThatLostItsLeaseCannotJournal() async throws {
        let store = MemorySagaStore()
        let first = S.engine(store: store, workerID: "w1")
        let second = S.engine(store: store, workerID: "w2")
        let started = TestSignal()
        let release = TestSignal()
        let firstRecorder = HandlerRecorder()
        let secondRecorder = HandlerRecorder()
        S.script(first, firstRecorder, "a", [
            .fire(started, then: .waitFor(release, timeout: .seconds(20), then: .succeed(["by": "w1"])))
        ])
        S.succeed(second, secondRecorder, ["a"]) { _ in ["by": "w2"] }
        let definition = S.definition(S.linear(["a"]))
        let run = Task { try await first.execute(definition, input: Self.input, id: "contested") }
        #expect(await started.wait(timeout: .seconds(10)))

        // While w1 holds the lease, w2 can neither claim nor append.
        #expect(try await store.claim(sagaID: "contested", owner: "w2", now: Date(), leaseUntil: Date() + 60) == nil)
        let refused = await #expect(throws: SagaError.self) {
            try await store.append(
                [SagaEvent(seq: 3, at: Date(), type: .stepSucceeded, step: "a", attempt: 1)],
                sagaID: "contested", owner: "w2", progress: SagaProgress(status: .running), leaseUntil: Date() + 60
            )
        }
        #expect(refused?.code == .leaseLost)

        // w2 takes the saga over (as from a worker presumed dead): w1's late outcome is refused.
        #expect(try await store.takeOver(sagaID: "contested", from: "w1", owner: "w2", leaseUntil: Date() + 60))
        release.fire()
        let lost = await #expect(throws: SagaError.self) { try await run.value }
        #expect(lost?.code == .leaseLost)
        #expect(try await S.trace(second, "contested") == ["saga.started", "step.started:a"])

        // w2 finishes the saga: the attempt w1 left is unknown, and re-run with the same key.
        let record = try await second.run(sagaID: "contested")
        #expect(record.status == .completed)
        let events = try await store.events(sagaID: "contested")
        #expect(S.trace(events) == ["saga.started", "step.started:a", "step.unknown:a", "step.started:a", "step.succeeded:a", "saga.completed"])
        #expect(events.last { $0.type == .stepSucceeded }?.output == ["by": "w2"])
        #expect(secondRecorder.invocations.map(\.idempotencyKey) == firstRecorder.invocations.map(\.idempotencyKey))
    }

    // MARK: Secrets

    @Test(.timeLimit(.minutes(1)))
    func secretsFromTheEnvironmentAreNeverJournaled() async throws {
        let secret = "s3cret-value"
        let engine = S.engine(environment: ["TOKEN": secret])
        let recorder = HandlerRecorder()
        engine.register(handler: "login", recorder.recording("login") { context in context.input })
        Self.undo(engine, recorder, ["login"])
        engine.register(handler: "use", recorder.recording("use") { context in
            let auth = context.input["auth"]?.stringValue ?? ""
            if context.attempt == 1 { throw ScriptedError("retry with \(auth)") }
            throw StepFailure.permanent("rejected \(auth)")
        })
        let definition = S.definition([
            S.step("login", after: [], input: ["token": "${env.TOKEN}", "user": "${input.user}"]),
            S.step("use", after: ["login"], input: ["auth": "Bearer ${env.TOKEN}"], retry: S.fastRetry(2)),
        ])
        let record = try await engine.execute(definition, input: ["user": "ann"], id: "secret")
        #expect(record.status == .compensated)
        // The handlers did see the secret…
        #expect(recorder.invocations(of: "login").first?.input == ["token": .string(secret), "user": "ann"])
        #expect(recorder.invocations(of: "use").first?.input == ["auth": .string("Bearer \(secret)")])
        // …but the journal and the record never do.
        let events = try await engine.store.events(sagaID: "secret")
        #expect(events.first { $0.type == .stepSucceeded }?.output == ["token": "***", "user": "ann"])
        #expect(events.filter { $0.type == .stepFailed }.map(\.error) == ["retry with Bearer ***", "rejected Bearer ***"])
        for event in events {
            #expect(!event.json.jsonString.contains(secret), "\(event.json.jsonString)")
        }
        let stored = try #require(try await engine.store.saga(id: "secret"))
        #expect(stored.lastError?.contains(secret) == false)
        #expect(recorder.invocations(of: "login.undo").first?.output == ["token": "***", "user": "ann"])
    }

    @Test(
        .timeLimit(.minutes(1))
    )
    func aSecretUsedAsAnObjectKeyIsNotJournaled() async throws {
        let secret = "s3cret-value"
        let engine = S.engine(environment: ["TOKEN": secret])
        engine.register(handler: "index") { context in
            let token = context.input["token"]?.stringValue ?? ""
            return .object([token: "seen"])
        }
        let definition = S.definition([
            S.step("index", after: [], compensation: false, input: ["token": "${env.TOKEN}"], kind: .readonly)
        ])
        let record = try await engine.execute(definition, input: Self.input, id: "secret-key")
        #expect(record.status == .completed)
        let events = try await engine.store.events(sagaID: "secret-key")
        #expect(events.first { $0.type == .stepSucceeded }?.output == ["***": "seen"])
        for event in events {
            #expect(!event.json.jsonString.contains(secret), "\(event.json.jsonString)")
        }
    }
}
