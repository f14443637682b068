/// What a caller uses to start, act on and read sagas: the CLI's read and action commands, the HTTP API's handlers,
/// a service that starts sagas for a worker elsewhere to run. It runs no step: sagas it starts are driven by a
/// ``SagaWorker`` (in this process or another one on the same store).
///
/// A client and a worker share one ``SagaEngine``, the core that holds the store, the configuration and the caches:
/// `SagaClient(engine)` and `SagaWorker(engine)` are views of it, cheap to make and to copy. Their split follows
/// swift-jobs' `JobQueue` (push, cancel) and `JobQueueProcessor` (the service that runs jobs).
public struct SagaClient: Sendable {
    /// The engine this client calls.
    public let engine: SagaEngine

    /// A client of `engine`.
    public init(_ engine: SagaEngine) {
        self.engine = engine
    }

    /// The store the engine journals in.
    public var store: any SagaStore { engine.store }

    // MARK: Starting

    /// Journals a new saga for a worker to run, or returns the existing one with that id
    /// (``SagaEngine/start(_:input:id:baseDirectory:traceparent:)``).
    @discardableResult
    public func start(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String? = nil,
        baseDirectory: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        try await engine.start(
            definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
        )
    }

    /// `start` for a workflow file; its commands run in the file's folder.
    @discardableResult
    public func start(
        workflowFile path: String, input: JSONValue, id: String? = nil, traceparent: String? = nil
    ) async throws -> SagaRecord {
        try await engine.start(workflowFile: path, input: input, id: id, traceparent: traceparent)
    }

    /// `start` for a workflow named in a catalog (`NAME`, `NAME@VERSION`, or a path).
    @discardableResult
    public func start(
        workflow reference: String,
        in catalog: WorkflowCatalog,
        input: JSONValue,
        id: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        try await engine.start(workflow: reference, in: catalog, input: input, id: id, traceparent: traceparent)
    }

    // MARK: Acting

    /// Asks a saga to compensate (``SagaEngine/cancel(sagaID:reason:by:)``).
    @discardableResult
    public func cancel(sagaID: String, reason: String, by: String? = nil) async throws -> SagaRecord {
        try await engine.cancel(sagaID: sagaID, reason: reason, by: by)
    }

    /// Stops a saga for good without compensating (``SagaEngine/terminate(sagaID:reason:by:)``).
    @discardableResult
    public func terminate(sagaID: String, reason: String, by: String) async throws -> SagaRecord {
        try await engine.terminate(sagaID: sagaID, reason: reason, by: by)
    }

    /// Starts a new saga from a finished one (``SagaEngine/rerun(sagaID:from:input:definition:id:by:)``).
    @discardableResult
    public func rerun(
        sagaID: String,
        from: String? = nil,
        input: JSONValue? = nil,
        definition: SagaDefinition? = nil,
        id: String? = nil,
        by: String? = nil
    ) async throws -> SagaRecord {
        try await engine.rerun(sagaID: sagaID, from: from, input: input, definition: definition, id: id, by: by)
    }

    /// Settles a step that waits (``SagaEngine/signal(sagaID:step:token:outcome:by:patience:)``).
    public func signal(
        sagaID: String,
        step: String,
        token: String?,
        outcome: SagaSignalOutcome,
        by: String,
        patience: Duration = .seconds(10)
    ) async throws -> SagaSignalResult {
        try await engine.signal(
            sagaID: sagaID, step: step, token: token, outcome: outcome, by: by, patience: patience
        )
    }

    /// Resolves an open intervention (``SagaEngine/resolve(_:_:by:note:)``).
    @discardableResult
    public func resolve(
        _ id: String, _ resolution: InterventionResolution, by: String, note: String? = nil
    ) async throws -> SagaRecord {
        try await engine.resolve(id, resolution, by: by, note: note)
    }

    // MARK: Reading

    /// A saga's record, journal and derived state.
    public func snapshot(sagaID: String) async throws -> SagaSnapshot {
        try await engine.snapshot(sagaID: sagaID)
    }

    /// Sagas matching `query`, in its order.
    public func list(_ query: SagaQuery) async throws -> [SagaRecord] {
        try await engine.list(query)
    }

    /// What undoing a saga would do now; nothing runs.
    public func plan(sagaID: String) async throws -> SagaPlan {
        try await engine.plan(sagaID: sagaID)
    }

    /// What a saga of `definition` with `input` would do; nothing is journaled.
    public func plan(_ definition: SagaDefinition, input: JSONValue) throws -> SagaPlan {
        try engine.plan(definition, input: input)
    }

    /// Open interventions, oldest first.
    public func interventions(
        workflow: String? = nil, olderThan: Duration? = nil, limit: Int = 1000
    ) async throws -> [InterventionSummary] {
        try await engine.interventions(workflow: workflow, olderThan: olderThan, limit: limit)
    }

    /// A saga's interventions, open and resolved.
    public func interventions(sagaID: String) async throws -> [InterventionSummary] {
        try await engine.interventions(sagaID: sagaID)
    }

    /// Counts by status, workflow and age.
    public func statistics() async throws -> SagaStatistics {
        try await engine.statistics()
    }

    /// The workers the store has seen.
    public func workers() async throws -> [SagaWorkerSummary] {
        try await engine.workers()
    }

    /// The reruns of a saga.
    public func reruns(of sagaID: String, limit: Int = 100) async throws -> [SagaRecord] {
        try await engine.reruns(of: sagaID, limit: limit)
    }

    /// A saga's events as they are journaled, from after `after`.
    public func follow(sagaID: String, after: Int = 0, pollInterval: Duration = .milliseconds(200)) -> SagaEventFeed {
        engine.follow(sagaID: sagaID, after: after, pollInterval: pollInterval)
    }
}

extension SagaEngine {
    /// This engine's client API: start, act on and read sagas.
    public var client: SagaClient { SagaClient(self) }
}
