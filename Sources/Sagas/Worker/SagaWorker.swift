public import ServiceLifecycle

/// The swift-service-lifecycle `Service` that runs sagas: it claims runnable ones from the store, takes over those
/// of dead workers, renews leases and drives each saga's steps with the executors registered here, until graceful
/// shutdown.
///
/// Every task it starts is a child of ``run()``: the worker slots, each saga's attempts, and the task that serves
/// the engine's timers (attempt timeouts, retry wake-ups) with the jobs it runs (lease renewals, polls of parked
/// limit waiters). Cancelling `run()` cancels and awaits them all; a graceful shutdown first gives attempts in flight
/// `configuration.shutdownGrace` to finish and be journaled.
///
/// Named for what the CLI (`saga worker`), the store (`saga workers`, ``SagaWorkerSummary``) and the leases
/// (``WorkerIdentity``) already call it; it plays the part of swift-jobs' `JobQueueProcessor`. It shares its
/// ``SagaEngine`` with the ``SagaClient`` that starts sagas for it.
public struct SagaWorker: Service, Sendable {
    /// The engine this worker drives sagas with.
    public let engine: SagaEngine

    /// A worker of `engine`.
    public init(_ engine: SagaEngine) {
        self.engine = engine
    }

    /// Registers the Swift handler that `{"handler": {"name": NAME}}` actions call.
    public func register(handler name: String, _ body: @escaping StepHandler) {
        engine.register(handler: name, body)
    }

    /// Registers the executor for an action kind (`command` from SagasCommand, `http` from SagasHTTP, …).
    public func register(executor: any StepExecutor, for kind: StepAction.Kind) {
        engine.register(executor: executor, for: kind)
    }

    /// Runs sagas until graceful shutdown or cancellation; returns once every task it started has ended.
    public func run() async throws {
        try await engine.run()
    }

    /// Runs sagas until none is pending, running or compensating, then returns.
    public func runUntilIdle() async throws {
        try await engine.runUntilIdle()
    }

    /// Starts a graceful shutdown from outside a service group.
    public func beginShutdown() {
        engine.beginShutdown()
    }

    /// Stops the attempts in flight at once; they are journaled as interrupted.
    public func abandonInFlightAttempts() {
        engine.abandonInFlightAttempts()
    }

    /// Looks for work at once instead of at the next poll.
    public func wakeWorkers() {
        engine.wakeWorkers()
    }

    /// How many sagas this worker holds leases on now.
    public var sagasHeld: Int { engine.sagasHeld }
}

extension SagaEngine {
    /// This engine as a worker `Service`.
    public var worker: SagaWorker { SagaWorker(self) }
}
