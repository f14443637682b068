import Foundation
import Sagas
import SagasTesting
import Synchronization
import Testing

/// A saga's ended attempt hands its limit slot over to the saga's next attempt of the limit (issue 21): the bound
/// still holds across sagas, a retry and parallel steps, and no slot is left behind.
@Suite struct LimitHandOverTests {
    typealias S = TestSupport

    /// `a` → (`b` ∥ `c`) → `d`, every step under limit `pay`; `b` fails its first attempt of each saga (a retry).
    static func definition(concurrency: Int) -> SagaDefinition {
        var steps = [
            S.step("a", after: []), S.step("b", after: ["a"]), S.step("c", after: ["a"]), S.step("d", after: ["b", "c"]),
        ]
        for i in steps.indices { steps[i].limit = "pay" }
        var definition = S.definition(steps)
        definition.limits = ["pay": SagaLimit(concurrency: concurrency)]
        return definition
    }

    /// One saga alone hands its slots over at every step (nobody waits); six wait for each other, so most of their
    /// attempts free and ask instead.
    @Test(.timeLimit(.minutes(1)), arguments: [(1, 1), (2, 1), (1, 6), (2, 6)])
    func handedOverSlotsKeepTheBound(concurrency: Int, sagas: Int) async throws {
        let store = MemorySagaStore()
        let engine = S.engine(store: store, concurrency: 8)
        let recorder = HandlerRecorder()
        let failed = Mutex<Set<String>>([])
        for name in ["a", "b", "c", "d"] {
            engine.register(handler: name, recorder.recording(name) { context in
                try await Task.sleep(for: .milliseconds(15))
                if name == "b", failed.withLock({ $0.insert(context.sagaID).inserted }) {
                    throw StepFailure.retryable("once")
                }
                return ["step": .string(name)]
            })
        }
        for name in ["a", "b", "c", "d"] {
            engine.register(handler: "\(name).undo", recorder.recording("\(name).undo") { _ in [:] })
        }
        let definition = Self.definition(concurrency: concurrency)
        let statuses = try await withThrowingTaskGroup(of: SagaStatus.self) { group in
            for i in 0..<sagas {
                group.addTask { try await engine.execute(definition, input: ["i": .number(Double(i))], id: "h-\(i)").status }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: .completed, count: sagas))
        #expect(recorder.peakConcurrency <= concurrency, "more attempts in flight than the limit allows")
        #expect(recorder.invocations.count == sagas * 5, "every step ran, b twice")
        let usage = await store.limitUsage(now: Date())
        #expect(usage.allSatisfy { $0.inFlight == 0 && $0.waiting == 0 }, "a slot was left behind: \(usage)")
    }
}
