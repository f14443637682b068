import Synchronization

extension SagaEngine {
    /// Registers an action kind: the rules of its spec for the workflows this engine loads, and the executor the
    /// kind makes (``SagaActionKind/makeExecutor(configuration:logger:)``) for its actions.
    ///
    /// A kind that makes no executor (one that only validates) leaves the executor registered for its name as it
    /// is; ``register(executor:for:)`` replaces an executor without touching the rules.
    public func register(kind: any SagaActionKind) {
        actionKindRegistry.withLock { $0.register(kind) }
        if let executor = kind.makeExecutor(configuration: configuration, logger: logger) {
            register(executor: executor, for: kind.name)
        }
    }

    /// The action kinds this engine knows: the core's and those registered with ``register(kind:)``. Pass them to
    /// ``WorkflowLoader`` and ``WorkflowCatalog`` to load workflows for this engine.
    public var actionKinds: SagaActionKinds {
        actionKindRegistry.withLock { $0 }
    }

    /// What a saga's pinned definition reloads with: the registered kinds' rules, and an action of any other kind
    /// kept as written (it was valid where the saga started; without an executor here it fails when it runs).
    var pinnedKinds: SagaActionKinds {
        var kinds = actionKinds
        kinds.acceptsUnregisteredKinds = true
        return kinds
    }
}
