import Foundation
import Logging
import Sagas
import ServiceLifecycle
import Synchronization
import Testing

/// The worker's `run()` owns every task it starts: when it returns (graceful shutdown or cancellation), no attempt,
/// timer or lease renewal of it is still running.
@Suite(.timeLimit(.minutes(1)))
struct SagaWorkerShutdownTests {
    /// What a handler saw, and when it ended.
    private final class Probe: Sendable {
        private struct State {
            var started = false
            var finished = false
            var sawCancellation = false
        }
        private let state = Mutex(State())
        var started: Bool { state.withLock { $0.started } }
        var finished: Bool { state.withLock { $0.finished } }
        var sawCancellation: Bool { state.withLock { $0.sawCancellation } }
        func start() { state.withLock { $0.started = true } }
        func finish(cancelled: Bool) {
            state.withLock {
                $0.finished = true
                $0.sawCancellation = cancelled
            }
        }
    }

    private static func waitUntil(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return false
    }

    /// A step whose handler runs until its task is cancelled, then takes a while to clean up.
    private static func stubbornEngine(
        store: any SagaStore, probe: Probe, grace: Duration = .milliseconds(100)
    ) -> SagaEngine {
        let engine = SagaEngine(
            store: store,
            configuration: .init(
                workerID: "test:1:1", pollInterval: .milliseconds(10), environment: [:], shutdownGrace: grace
            ),
            logger: TestSupport.logger
        )
        engine.register(handler: "slow") { _ in
            probe.start()
            while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) }
            // Cleaning up after cancellation: the worker must wait for this.
            let end = ContinuousClock.now + .milliseconds(200)
            while ContinuousClock.now < end { await Task.yield() }
            probe.finish(cancelled: Task.isCancelled)
            return [:]
        }
        return engine
    }

    private static let slowDefinition = TestSupport.definition(
        [TestSupport.step("slow", after: [], compensation: false, timeout: .seconds(60))]
    )

    @Test func gracefulShutdownReturnsAfterTheAttemptInFlightEnded() async throws {
        let store = MemorySagaStore()
        let probe = Probe()
        let engine = Self.stubbornEngine(store: store, probe: probe)
        let client = SagaClient(engine)
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: SagaWorker(engine))], logger: TestSupport.logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let record = try await client.start(Self.slowDefinition, input: [:], id: "stubborn")
            #expect(await Self.waitUntil { probe.started })
            await group.triggerGracefulShutdown()
            try await tasks.next()
            // `run()` returned: the attempt's task has ended, after seeing its cancellation (the grace ran out).
            #expect(probe.finished)
            #expect(probe.sawCancellation)
            let events = try await store.events(sagaID: record.id)
            #expect(events.last?.type == .stepUnknown, "\(events.map(\.type.rawValue))")
        }
    }

    @Test func cancellingRunCancelsAndAwaitsTheAttemptInFlight() async throws {
        let probe = Probe()
        let engine = Self.stubbornEngine(store: MemorySagaStore(), probe: probe, grace: .seconds(30))
        _ = try await SagaClient(engine).start(Self.slowDefinition, input: [:], id: "stubborn")
        let worker = Task { try await SagaWorker(engine).run() }
        #expect(await Self.waitUntil { probe.started })
        worker.cancel()
        _ = try? await worker.value
        #expect(probe.finished)
        #expect(probe.sawCancellation)
    }

    /// A lease renewal in flight when the worker stops is a child of `run()`: cancelled and awaited, not left
    /// running against the store after the worker returned.
    @Test func noLeaseRenewalOutlivesRun() async throws {
        let store = SlowRenewalStore()
        let engine = SagaEngine(
            store: store,
            configuration: .init(
                workerID: "test:1:1", leaseDuration: .milliseconds(150), pollInterval: .milliseconds(10),
                environment: [:]
            ),
            logger: TestSupport.logger
        )
        // The step ends once a renewal of its lease is under way.
        engine.register(handler: "slow") { _ in
            while store.renewalsInFlight == 0 { try await Task.sleep(for: .milliseconds(5)) }
            return [:]
        }
        let record = try await SagaClient(engine).start(Self.slowDefinition, input: [:], id: "renewed")
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: SagaWorker(engine))], logger: TestSupport.logger)
        )
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            #expect(await Self.waitUntil { await store.base.saga(id: record.id)?.status == .completed })
            #expect(store.renewalsInFlight == 1)
            await group.triggerGracefulShutdown()
            try await tasks.next()
            #expect(store.renewalsInFlight == 0)
            #expect(store.renewalsCancelled >= 1)
        }
    }
}

/// A memory store whose lease renewals take up to a minute, unless their task is cancelled.
private final class SlowRenewalStore: SagaStore {
    let base = MemorySagaStore()
    private let counts = Mutex((inFlight: 0, cancelled: 0))
    var renewalsInFlight: Int { counts.withLock { $0.inFlight } }
    var renewalsCancelled: Int { counts.withLock { $0.cancelled } }

    func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) async throws -> [SagaRecord] {
        counts.withLock { $0.inFlight += 1 }
        defer { counts.withLock { $0.inFlight -= 1 } }
        do {
            try await Task.sleep(for: .seconds(60))
        } catch {
            counts.withLock { $0.cancelled += 1 }
            throw error
        }
        return try await base.renewLeases(sagaIDs: sagaIDs, owner: owner, leaseUntil: leaseUntil)
    }
    func saga(id: String) async throws -> SagaRecord? { await base.saga(id: id) }
    func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord? {
        try await base.claim(sagaID: sagaID, owner: owner, now: now, leaseUntil: leaseUntil)
    }
    func create(_ saga: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation {
        try await base.create(saga, events: events)
    }
    func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord] {
        try await base.claimNext(owner: owner, now: now, leaseUntil: leaseUntil, limit: limit)
    }
    func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws -> Bool {
        try await base.takeOver(sagaID: sagaID, from: previousOwner, owner: owner, leaseUntil: leaseUntil)
    }
    func append(_ events: [SagaEvent], sagaID: String, owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws
    {
        try await base.append(events, sagaID: sagaID, owner: owner, progress: progress, leaseUntil: leaseUntil)
    }
    func appendUnowned(_ events: [SagaEvent], sagaID: String, expectedLastSeq: Int, progress: SagaProgress, now: Date)
        async throws
    {
        try await base.appendUnowned(events, sagaID: sagaID, expectedLastSeq: expectedLastSeq, progress: progress, now: now)
    }
    func release(sagaID: String, owner: String) async throws {
        try await base.release(sagaID: sagaID, owner: owner)
    }
    func requestCancel(sagaID: String, reason: String, at: Date) async throws -> SagaRecord {
        try await base.requestCancel(sagaID: sagaID, reason: reason, at: at)
    }
    func events(sagaID: String) async throws -> [SagaEvent] { await base.events(sagaID: sagaID) }
    func list(_ query: SagaQuery) async throws -> [SagaRecord] { try await base.list(query) }
    func countByStatus() async throws -> [SagaStatus: Int] { await base.countByStatus() }
    func leasedSagas(limit: Int) async throws -> [SagaRecord] { await base.leasedSagas(limit: limit) }
}
