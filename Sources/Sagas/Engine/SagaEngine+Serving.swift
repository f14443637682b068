extension SagaEngine {
    /// Runs `body` with the engine's timers served by one child task for every drive it starts, as a worker's
    /// `run()` serves them for its drives: `execute` and `run(sagaID:)` calls inside `body` (directly or in its child
    /// tasks) use that task instead of each serving the timers for itself. Returns when `body` has returned and the
    /// serving task has ended. Without it each drive outside a worker serves the timers in a child of its own
    /// (see `Docs/library.md`, "Client and worker"); `saga bench` runs its sagas inside one such scope.
    public func withTimersServed<R>(_ body: () async throws -> R) async throws -> R {
        try await timers.serving(body)
    }
}
