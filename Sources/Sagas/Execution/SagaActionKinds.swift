/// The action kinds a loader and an engine know: the core's (`handler`, `sleep`, `sleepUntil`) and those
/// registered (``SagaActionKind``).
///
/// A workflow whose action uses a kind that is not registered is refused at load, with an error at the action's
/// key that names the kind and the registered ones.
public struct SagaActionKinds: Sendable {
    /// The registered kinds in order, then the core's.
    private var registered: [any SagaActionKind]
    /// Pinned definitions (validated when their saga started) reload with an action of a kind this registry does
    /// not have kept as written: it fails when it runs ("no executor"), not at reload.
    public var acceptsUnregisteredKinds = false

    /// The core's kinds: `handler`, `sleep`, `sleepUntil`.
    public static let core = SagaActionKinds()

    /// The core's kinds, and an action of any other kind kept as written: for a definition validated before (a
    /// saga's pinned text) read where its kinds are not registered, as the journal checker does.
    public static let anyKind: SagaActionKinds = {
        var kinds = SagaActionKinds()
        kinds.acceptsUnregisteredKinds = true
        return kinds
    }()

    /// The core's kinds and `kinds` (a later kind with the same name replaces an earlier one).
    public init(_ kinds: [any SagaActionKind] = []) {
        registered = []
        for kind in kinds { register(kind) }
    }

    /// Adds `kind`, or replaces the kind registered under its name.
    public mutating func register(_ kind: any SagaActionKind) {
        if let i = registered.firstIndex(where: { $0.name == kind.name }) {
            registered[i] = kind
        } else {
            registered.append(kind)
        }
    }

    /// This registry with `kind` added.
    public func registering(_ kind: any SagaActionKind) -> SagaActionKinds {
        var copy = self
        copy.register(kind)
        return copy
    }

    /// The kind registered under `name`, or the core's.
    public subscript(name: StepAction.Kind) -> (any SagaActionKind)? {
        registered.first { $0.name == name } ?? Self.coreKinds.first { $0.name == name }
    }

    /// Every kind: the registered ones in order, then the core's.
    public var kinds: [any SagaActionKind] {
        registered + Self.coreKinds.filter { core in !registered.contains { $0.name == core.name } }
    }

    /// The names of ``kinds``, as diagnostics list them.
    public var names: [String] { kinds.map(\.name.rawValue) }

    static let coreKinds: [any SagaActionKind] = [
        HandlerActionKind(), SagaTimerActionKind(name: .sleep), SagaTimerActionKind(name: .sleepUntil),
    ]
}
