/// A workflow: the steps of one business transaction, what each calls, and what undoes it.
///
/// Load one from a workflow file with ``WorkflowLoader``. Every default is already applied: each step has its
/// retry policies, timeout, dependencies and kind filled in.
public struct SagaDefinition: Sendable, Hashable {
    /// Lower-case letters, digits, `.`, `_` and `-`.
    public var name: String
    /// A positive integer; a new version of a workflow is a new file.
    public var version: Int
    public var description: String?
    /// Checked against each saga's input when it is submitted.
    public var input: InputSchema?
    public var defaults: StepDefaults
    /// In file order; never empty.
    public var steps: [SagaStep]
    /// How the reconciliation job treats this workflow's interventions; `nil`: the job's own settings.
    public var reconciliation: ReconciliationSettings?
    /// The business key template (`"key": "${input.orderId}"`), evaluated over the input when a saga starts and
    /// stored with it, so that `saga list --key` finds the sagas of one order.
    public var key: String?
    /// The named limits this workflow declares (`"limits"`), by name: see ``SagaLimit``.
    public var limits: [String: SagaLimit] = [:]
    /// The exclusive key templates (`"exclusive"`): sagas whose evaluated keys are equal never run at once.
    public var exclusive: [String] = []

    public init(
        name: String,
        version: Int,
        description: String? = nil,
        input: InputSchema? = nil,
        defaults: StepDefaults = StepDefaults(),
        steps: [SagaStep],
        reconciliation: ReconciliationSettings? = nil,
        key: String? = nil,
        limits: [String: SagaLimit] = [:],
        exclusive: [String] = []
    ) {
        self.name = name
        self.version = version
        self.description = description
        self.input = input
        self.defaults = defaults
        self.steps = steps
        self.reconciliation = reconciliation
        self.key = key
        self.limits = limits
        self.exclusive = exclusive
    }

    /// The step named `name`.
    public func step(named name: String) -> SagaStep? {
        steps.first { $0.name == name }
    }

    /// `name@version`.
    public var reference: String { "\(name)@\(version)" }

    /// The longest business key (template text and value), in characters.
    public static let maxKeyLength = 200
}

/// A workflow's own settings for the reconciliation job (`"reconciliation"` in a workflow file).
///
/// Each field that is set overrides the same field of the job's global ``ReconciliationPolicy`` for this
/// workflow's sagas; a field left `nil` keeps the global value. (A whole `ReconciliationPolicy` could not tell a
/// field the file sets from a default, and would silently override `saga reconcile --max-retries`.)
public struct ReconciliationSettings: Sendable, Hashable {
    /// How long after an intervention opened (or after the last automatic retry) the next automatic retry runs.
    public var retryInterval: Duration?
    /// Automatic retries per step and phase before only a person can settle it: 0 to 100.
    public var maxAutomaticRetries: Int?

    public init(retryInterval: Duration? = nil, maxAutomaticRetries: Int? = nil) {
        self.retryInterval = retryInterval
        self.maxAutomaticRetries = maxAutomaticRetries
    }

    /// `policy` with the fields set here replacing its own.
    public func applied(to policy: ReconciliationPolicy) -> ReconciliationPolicy {
        var result = policy
        if let retryInterval { result.retryInterval = retryInterval }
        if let maxAutomaticRetries { result.maxAutomaticRetries = maxAutomaticRetries }
        return result
    }
}

/// Retry policies and timeout for steps that don't set their own.
public struct StepDefaults: Sendable, Hashable {
    public var retry: RetryPolicy
    public var compensationRetry: RetryPolicy
    public var timeout: Duration

    public init(
        retry: RetryPolicy = .defaultAction,
        compensationRetry: RetryPolicy = .defaultCompensation,
        timeout: Duration = RetryPolicy.defaultTimeout
    ) {
        self.retry = retry
        self.compensationRetry = compensationRetry
        self.timeout = timeout
    }
}

/// A step's role in its saga.
public enum StepKind: String, Sendable, Hashable, CaseIterable {
    /// Has an effect that its compensation undoes (the default where a compensation is given).
    case compensable
    /// Has no effect to undo: never compensated.
    case readonly
    /// The point of no return: once it succeeds, the saga only goes forward.
    case pivot
    /// After the pivot: retried until it succeeds, never compensated.
    case retriable
}

/// Which of a step's actions an attempt runs.
public enum StepPhase: String, Sendable, Hashable, CaseIterable, Codable {
    case action
    case compensation
    case probe
}

/// One step of a saga.
public struct SagaStep: Sendable, Hashable {
    /// Unique within the workflow.
    public var name: String
    public var action: StepAction
    /// Undoes the action; `nil` when there is nothing to undo.
    public var compensation: StepAction?
    /// Asks the target whether the action took effect; used when an attempt's outcome is unknown.
    public var probe: StepAction?
    public var retry: RetryPolicy
    public var compensationRetry: RetryPolicy
    /// The longest one attempt may take.
    public var timeout: Duration
    /// The steps this one waits for (already defaulted: the step before it, or none for the first).
    public var after: [String]
    /// Already defaulted (see ``StepKind``).
    public var kind: StepKind
    /// The named limit (of the workflow's `limits`) that its action, compensation and probe attempts count against.
    public var limit: String?
    /// Set for a step that completes by callback (`"await"`): after its action's call returns it waits for a
    /// signal.
    public var awaits: StepAwait?

    public init(
        name: String,
        action: StepAction,
        compensation: StepAction? = nil,
        probe: StepAction? = nil,
        retry: RetryPolicy = .defaultAction,
        compensationRetry: RetryPolicy = .defaultCompensation,
        timeout: Duration = RetryPolicy.defaultTimeout,
        after: [String] = [],
        kind: StepKind = .compensable,
        limit: String? = nil,
        awaits: StepAwait? = nil
    ) {
        self.awaits = awaits
        self.name = name
        self.action = action
        self.compensation = compensation
        self.probe = probe
        self.retry = retry
        self.compensationRetry = compensationRetry
        self.timeout = timeout
        self.after = after
        self.kind = kind
        self.limit = limit
    }

    /// The action an attempt of `phase` runs.
    public func action(for phase: StepPhase) -> StepAction? {
        switch phase {
        case .action: action
        case .compensation: compensation
        case .probe: probe
        }
    }
}

/// What a step calls: an HTTP endpoint, a local command, or a Swift handler.
///
/// The specification is kept as JSON with its templates unresolved; the engine resolves the templates for each
/// attempt and passes the result to the executor for the kind.
public struct StepAction: Sendable, Hashable {
    /// The key of an action in a workflow file. Kinds are open: a ``SagaActionKind`` registered with the loader
    /// and the engine adds one (see Docs/library.md).
    public struct Kind: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        public var rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public init(stringLiteral value: String) {
            self.rawValue = value
        }

        public var description: String { rawValue }

        /// An HTTP request (`SagasHTTP`).
        public static let http: Kind = "http"
        /// A local command (`SagasCommand`).
        public static let command: Kind = "command"
        /// A Swift handler registered with the engine (the core's own kind).
        public static let handler: Kind = "handler"
        /// A durable timer: `{"sleep": "10m"}` waits that long (see `SagaStateMachine+Waits.swift`).
        public static let sleep: Kind = "sleep"
        /// A durable timer: `{"sleepUntil": "${input.deliverAt}"}` waits until that ISO 8601 time.
        public static let sleepUntil: Kind = "sleepUntil"
    }

    public var kind: Kind
    /// The object under the kind's key, for example `{"name": "inventory.reserve", "input": …}`.
    public var spec: JSONValue

    public init(kind: Kind, spec: JSONValue) {
        self.kind = kind
        self.spec = spec
    }

    /// A handler action: `{"handler": {"name": NAME, "input": INPUT}}`.
    public static func handler(_ name: String, input: JSONValue? = nil) -> StepAction {
        var spec: [String: JSONValue] = ["name": .string(name)]
        if let input { spec["input"] = input }
        return StepAction(kind: .handler, spec: .object(spec))
    }

    /// The action as it is written in a workflow file: a one-key object.
    public var json: JSONValue { .object([kind.rawValue: spec]) }
}
