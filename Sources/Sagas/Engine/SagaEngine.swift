public import Foundation
public import Logging
public import ServiceLifecycle
import Synchronization

/// The durable saga engine: starts sagas, runs their steps, compensates, and resumes whatever a crashed worker left.
///
/// Journal first, then act: an attempt is journaled as started before it runs, and its outcome is journaled before
/// anything that depends on it starts. As a swift-service-lifecycle `Service`, ``run()`` works through the store's
/// runnable sagas until graceful shutdown.
public final class SagaEngine: Service, Sendable {
    /// Settings, each with a default.
    public struct Configuration: Sendable {
        /// Identifies this worker in leases: `WorkerIdentity.current()` by default
        /// (`HOST:PID:NONCE:boot=…:pidns=…:start=…`), so that a worker on the same machine and in the same PID
        /// namespace can be certain that the owner of a lease is gone. Any other id works too; its leases are then
        /// taken over only when they expire.
        public var workerID: String
        /// How long a lease lasts without renewal; a saga whose worker died is taken over when it expires.
        public var leaseDuration: Duration
        /// How many sagas this engine drives at once.
        public var concurrency: Int
        /// How long an idle worker waits before looking for new sagas again.
        public var pollInterval: Duration
        /// Outputs larger than this (as JSON text) fail the attempt, so the journal stays bounded.
        public var maxOutputBytes: Int
        /// What `${env.NAME}` templates read.
        public var environment: [String: String]
        /// Inputs larger than this (as JSON text) are refused at start, so the journal stays bounded.
        public var maxInputBytes: Int
        /// After ``SagaEngine/beginShutdown()``, how long attempts in flight may still finish. Then they are
        /// abandoned: a command's process group is killed, and each is journaled with an unknown outcome
        /// ("interrupted"), which the next worker settles like a timeout.
        public var shutdownGrace: Duration
        /// How a lease holder is taken for gone before its lease lapsed (``SagaLivenessPolicy``). Default: the
        /// same-host process check.
        public var liveness: SagaLivenessPolicy = .sameHostProcessCheck

        public init(
            workerID: String = SagaEngine.defaultWorkerID(),
            leaseDuration: Duration = .seconds(15),
            concurrency: Int = 16,
            pollInterval: Duration = .milliseconds(200),
            maxOutputBytes: Int = 1 << 20,
            environment: [String: String] = ProcessInfo.processInfo.environment,
            maxInputBytes: Int = 1 << 20,
            shutdownGrace: Duration = .seconds(10)
        ) {
            self.workerID = workerID
            self.leaseDuration = leaseDuration
            self.concurrency = concurrency
            self.pollInterval = pollInterval
            self.maxOutputBytes = maxOutputBytes
            self.environment = environment
            self.maxInputBytes = maxInputBytes
            self.shutdownGrace = shutdownGrace
        }
    }

    /// `WorkerIdentity.current()` as text: `HOST:PID:NONCE:boot=…:pidns=…:start=…` (the fields `/proc` gives).
    public static func defaultWorkerID() -> String {
        WorkerIdentity.current().description
    }

    public let store: any SagaStore
    public let configuration: Configuration
    /// Where `handler` actions are registered.
    public let handlers: HandlerExecutor
    let logger: Logger
    let clock: any Clock<Duration>
    /// Wake-up hints for idle worker slots (`wakeWorkers()`).
    let wakeups = WorkerWakeups()
    let now: @Sendable () -> Date
    private let executors: Mutex<[StepAction.Kind: any StepExecutor]>
    /// The action kinds the engine's loads know (`register(kind:)`, SagaEngine+ActionKinds.swift).
    let actionKindRegistry = Mutex(SagaActionKinds.core)
    private let observers = Mutex<[any SagaObserver]>([])
    private let tracers = Mutex<(any SagaTracer)?>(nil)
    let state = Mutex(EngineState())
    /// Attempt timeouts, retry wake-ups and lease renewal, served by one task.
    let timers: EngineTimers
    private let definitions = Mutex(RecentCache<String, SagaDefinition>())
    /// The pinned text of definitions this engine started sagas with: serializing one costs more than a step.
    private let definitionTexts = Mutex(RecentCache<SagaDefinition, String>())

    struct EngineState {
        var active: Set<String> = []
        /// Sagas a drive loop of this engine is driving: at most one loop per saga. Every loop of an engine writes
        /// as the same lease owner, so the store's lease cannot tell two of them apart.
        var driving: Set<String> = []
        var cancelRequests: [String: String] = [:]
        /// Who asked for the cancels in `cancelRequests`, when known (journaled as `data.by`).
        var cancelActors: [String: String] = [:]
        var lostLeases: Set<String> = []
        var shuttingDown = false
        /// The shutdown grace ran out (or was cut short): attempts still in flight are abandoned.
        var abandoning = false
        /// The mailbox of each saga being driven, to nudge its loop (cancel requests, lost leases, shutdown).
        var mailboxes: [String: DriveMailbox] = [:]
        /// Whether a lease renewal is scheduled on `timers`.
        var renewalScheduled = false
        var lastTakeOverScan = Date.distantPast
        /// The last scan took sagas over: scan again at once, there may be more.
        var rescanNow = false
        /// Sagas taken over from dead workers, waiting for a free slot (their leases are renewed meanwhile).
        var takenOver: [SagaRecord] = []
        /// A slot is scanning for dead workers' sagas; the slots in `scanWaiters` wait for what it finds.
        var scanning = false
        var scanWaiters: [CheckedContinuation<Void, Never>] = []
        /// Sagas whose attempts wait for named limits, out of the worker's slots (``LimitParking``).
        var parking = LimitParking()
        /// Lease renewals as self-fencing tracks them (`SagaEngine+SelfFencing.swift`).
        var selfFence = SelfFence()
    }

    /// Creates an engine.
    ///
    /// - Parameters:
    ///   - store: where sagas are journaled (`.memory`, or `SQLiteSagaStore`).
    ///   - configuration: worker identity, leases, concurrency.
    ///   - logger: the engine logs through it with `saga.id` and `saga.step` metadata.
    ///   - clock: what the engine sleeps on (backoff, polling); inject one to control time in tests.
    ///   - now: wall-clock time for journal timestamps and leases.
    public init(
        store: any SagaStore,
        configuration: Configuration = .init(),
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.timers = EngineTimers(clock: clock)
        self.now = now
        let handlers = HandlerExecutor()
        self.handlers = handlers
        self.executors = Mutex([
            .handler: handlers,
            // `command` (SagasCommand) and `http` (SagasHTTP) are opt-in: an embedder registers the kinds it wants.
            .command: UnavailableExecutor(kind: "command", module: "SagasCommand's CommandExecutor"),
            .http: UnavailableExecutor(kind: "http", module: "SagasHTTP's HTTPExecutor"),
        ])
    }

    /// Registers the Swift handler that `{"handler": {"name": NAME}}` actions call.
    public func register(handler name: String, _ body: @escaping StepHandler) {
        handlers.register(name, body)
    }

    /// Replaces the executor for an action kind (for example an HTTP client with custom settings).
    public func register(executor: any StepExecutor, for kind: StepAction.Kind) {
        executors.withLock { $0[kind] = executor }
    }

    /// How many sagas this engine holds leases on now (driving them, or taken over and waiting for a slot).
    public var sagasHeld: Int {
        state.withLock { $0.active.count }
    }

    /// Traces saga runs and attempts with `tracer` (``SagaTracer``); `nil` turns tracing off.
    public func use(tracer: (any SagaTracer)?) {
        tracers.withLock { $0 = tracer }
    }

    var tracer: (any SagaTracer)? {
        tracers.withLock { $0 }
    }

    /// Adds an observer that sees every write this engine makes, after it is durable (``SagaObserver``).
    public func add(observer: any SagaObserver) {
        observers.withLock { $0.append(observer) }
    }

    /// Tells the observers about a write that `record` describes (its workflow, version and creation time).
    func notify(
        _ kind: SagaNotice.Kind,
        _ record: SagaRecord,
        events: [SagaEvent],
        status: SagaStatus,
        since started: ContinuousClock.Instant,
        runnableSince: Date? = nil,
        by: String? = nil
    ) {
        let current = observers.withLock { $0 }
        guard !current.isEmpty else { return }
        let notice = SagaNotice(
            kind: kind,
            sagaID: record.id,
            workflow: record.workflow,
            version: record.version,
            events: events,
            status: status,
            createdAt: record.createdAt,
            runnableSince: runnableSince,
            duration: ContinuousClock.now - started,
            at: now(),
            by: by ?? configuration.workerID
        )
        for observer in current { observer.observe(notice) }
    }

    func executor(for kind: StepAction.Kind) -> (any StepExecutor)? {
        executors.withLock { $0[kind] }
    }

    // MARK: Starting sagas

    /// Journals a new saga for a worker to run, or returns the existing saga with that id.
    ///
    /// - Parameters:
    ///   - definition: the workflow; the saga pins a snapshot of it.
    ///   - input: checked against the workflow's `input` schema.
    ///   - id: the saga's id; a new one is generated when `nil`.
    ///   - baseDirectory: the workflow file's folder, where commands run.
    ///   - traceparent: a W3C `traceparent` of the caller's trace: journaled with the saga, so that its spans join
    ///     that trace on every worker (``SagaTraceContext``).
    /// - Throws: `.invalidInput` when the input does not match the schema; `.tooLarge` when it is larger than
    ///   `configuration.maxInputBytes`; `.sagaConflict` when the id exists with
    ///   another workflow or input; storage errors.
    @discardableResult
    public func start(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String? = nil,
        baseDirectory: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        let (record, started) = try prepareStart(
            definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
        )
        let sagaID = record.id
        let began = ContinuousClock.now
        let creation = try await store.create(record, events: [started])
        if case .created(let created) = creation {
            notify(.created, created, events: [started], status: created.status, since: began)
        }
        if case .existing = creation {
            logger.debug("saga already exists", metadata: ["saga.id": "\(sagaID)"])
        } else {
            logger.info("saga started", metadata: ["saga.id": "\(sagaID)", "saga.workflow": "\(definition.reference)"])
        }
        return creation.record
    }

    /// The record and first event of a new saga, after checking its id and input.
    func prepareStart(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String?,
        baseDirectory: String?,
        traceparent: String? = nil
    ) throws(SagaError) -> (SagaRecord, SagaEvent) {
        let sagaID = id ?? SagaEngine.newSagaID()
        try SagaEngine.checkID(sagaID)
        if let traceparent, SagaTraceContext(traceparent: traceparent) == nil {
            throw SagaError(
                .invalidArgument,
                "traceparent '\(EchoedText.clip(traceparent))' is not a W3C traceparent (00-TRACEID-SPANID-FLAGS)",
                sagaID: sagaID
            )
        }
        let inputSize = input.jsonString.utf8.count
        if inputSize > configuration.maxInputBytes {
            throw SagaError(
                .tooLarge,
                "input for workflow \(definition.reference) is \(inputSize) bytes, more than the limit of "
                    + "\(configuration.maxInputBytes); nothing was journaled",
                sagaID: sagaID
            )
        }
        if let schema = definition.input {
            let problems = schema.validate(input)
            if !problems.isEmpty {
                throw SagaError(
                    .invalidInput,
                    "input for workflow \(definition.reference) is invalid: " + problems.prefix(10).joined(separator: "; "),
                    sagaID: sagaID
                )
            }
        }
        let at = now()
        let snapshot = definitionText(definition)
        var key: String?
        if let template = definition.key {
            key = try SagaEngine.businessKey(template, of: definition, input: input, sagaID: sagaID)
        }
        let exclusive = try exclusiveKeys(of: definition, input: input, sagaID: sagaID)
        try checkLimitsSupported(definition, sagaID: sagaID)
        var record = SagaRecord(
            id: sagaID,
            workflow: definition.name,
            version: definition.version,
            definition: snapshot,
            baseDirectory: baseDirectory,
            input: input,
            status: .pending,
            createdAt: at,
            updatedAt: at,
            key: key
        )
        record.exclusiveKeys = exclusive
        var data: [String: JSONValue] = ["input": input]
        if let key = record.key { data["key"] = .string(key) }
        if !exclusive.isEmpty { data["exclusive"] = .array(exclusive.map { .string($0) }) }
        if let traceparent { data["traceparent"] = .string(traceparent.lowercased()) }
        let started = SagaEvent(seq: 1, at: at, type: .sagaStarted, data: .object(data))
        return (record, started)
    }

    /// Evaluates a workflow's `key` template over a saga's input: a string value is the key as it is, any other
    /// value its JSON text.
    ///
    /// - Throws: `.invalidInput` when the template names a value the input lacks, or the key is longer than
    ///   `SagaDefinition.maxKeyLength`.
    ///
    /// `name` says which key it is in the errors (`key`, `exclusive key`).
    static func businessKey(
        _ template: String,
        of definition: SagaDefinition,
        input: JSONValue,
        sagaID: String,
        name: String = "key"
    ) throws(SagaError) -> String {
        let context = Template.Context(
            input: input, outputs: [:], sagaID: sagaID, workflow: definition.name, environment: [:]
        )
        let value: JSONValue
        do {
            value = try Template.resolve(.string(template), in: context).value
        } catch {
            throw SagaError(
                .invalidInput,
                "the \(name) \(template) of workflow \(definition.reference) cannot be evaluated: \(error.message); "
                    + "nothing was journaled",
                sagaID: sagaID
            )
        }
        let key = value.stringValue ?? value.jsonString
        guard !key.isEmpty, key.count <= SagaDefinition.maxKeyLength else {
            throw SagaError(
                .invalidInput,
                "the \(name) of workflow \(definition.reference) must be 1 to \(SagaDefinition.maxKeyLength) characters, "
                    + "got \(key.count); nothing was journaled",
                sagaID: sagaID
            )
        }
        return key
    }

    /// Starts a saga and drives it in this task until it is terminal or needs intervention.
    public func execute(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String? = nil,
        baseDirectory: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        // A saga with exclusive keys is created leased only when they are free (`.keyBusy` otherwise: it then
        // waits, pending).
        if store is any SagaStoreCreatingLeased {
            // One write starts the saga, leases it and journals its first attempts; `run` then only reads it back.
            if let started = try await executeLeasedUnlessKeyBusy(
                definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
            ) {
                // The record the saga ended with, as the drive wrote it; read back only when the drive does not know
                // it exactly (a cancel request, or it stopped at shutdown).
                if let final = started.final { return final }
                return try await run(sagaID: started.id)
            }
        }
        let record = try await start(
            definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
        )
        return try await run(sagaID: record.id)
    }

    /// Drives one saga in this task until it is terminal or needs intervention, and returns its record.
    ///
    /// When another live worker holds the saga, waits for it to finish or for its lease to expire.
    public func run(sagaID: String) async throws -> SagaRecord {
        while true {
            guard let current = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
            if !current.status.isRunnable { return current }
            if isDriving(sagaID) {
                // One of this engine's worker slots drives it (under this engine's lease, which `claim` would
                // hand to this call too): wait for that drive to end.
                try await clock.sleep(for: configuration.pollInterval)
                continue
            }
            let began = ContinuousClock.now
            if let claimed = try await store.claim(
                sagaID: sagaID,
                owner: configuration.workerID,
                now: now(),
                leaseUntil: leaseDeadline()
            ) {
                notify(.claimed, claimed, events: [], status: claimed.status, since: began, runnableSince: current.updatedAt)
                _ = try await drive(claimed)
            } else if try await takeOverIfOwnerDead(current) == false {
                try await clock.sleep(for: configuration.pollInterval)
            }
            if isShuttingDown, let record = try await store.saga(id: sagaID) { return record }
        }
    }

    /// Asks a saga to stop going forward and compensate. The worker that runs it journals the request
    /// (`saga.cancel_requested`, with the reason as `error` and who as `data.by`).
    ///
    /// - Parameters:
    ///   - reason: why (journaled).
    ///   - by: who asks (journaled as `data.by`; kept by stores that adopt ``SagaStoreCancelActors``, so that a
    ///     worker in another process journals it too). `nil` journals no `by`.
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already terminal.
    @discardableResult
    public func cancel(sagaID: String, reason: String, by: String? = nil) async throws -> SagaRecord {
        let record: SagaRecord
        if let by, let actors = store as? any SagaStoreCancelActors {
            record = try await actors.requestCancel(sagaID: sagaID, reason: reason, by: by, at: now())
        } else {
            record = try await store.requestCancel(sagaID: sagaID, reason: reason, at: now())
        }
        let mailbox = state.withLock { s in
            s.cancelRequests[sagaID] = reason
            s.cancelActors[sagaID] = record.cancelBy ?? by
            return s.mailboxes[sagaID]
        }
        mailbox?.post(.wake)
        return record
    }

    /// A saga's record, journal and derived state.
    public func snapshot(sagaID: String) async throws -> SagaSnapshot {
        guard let record = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        // A journal that does not replay (a damaged row, an event the store cannot decode or the machine refuses, a
        // pinned definition that does not load) is shown with the error, not refused: a person must see it.
        var events: [SagaEvent] = []
        var journalError: String?
        do {
            events = try await store.events(sagaID: sagaID)
        } catch let error as SagaError where error.code == .corruptJournal {
            journalError = error.message
        }
        var machine: SagaStateMachine?
        if journalError == nil {
            do {
                var m = SagaStateMachine(sagaID: sagaID, definition: try definition(of: record))
                for event in events { try m.apply(event) }
                machine = m
            } catch {
                journalError = "\(error)"
            }
        }
        let reruns = try await store.list(SagaQuery(rerunOf: sagaID, limit: 100)).map(\.id)
        var snapshot = SagaSnapshot(
            record: record, events: events, state: machine, reruns: reruns, journalError: journalError
        )
        snapshot.keys = try await exclusiveKeyHolds(of: record)
        snapshot.limitWaits = try await limitWaits(of: record)
        return snapshot
    }

    /// A new saga id: time-ordered and unique.
    public static func newSagaID() -> String {
        let millis = UInt64(Date().timeIntervalSince1970 * 1000)
        let random = UInt64.random(in: 0..<(1 << 40))
        return "s-" + String(millis, radix: 36) + "-" + String(random, radix: 36)
    }

    static func checkID(_ id: String) throws(SagaError) {
        let allowed = id.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
                || b == 0x2E || b == 0x3A
        }
        // An id that starts with '-' would read as an option in every later command (`saga show -x`).
        guard !id.isEmpty, id.utf8.count <= 128, allowed, !id.hasPrefix("-") else {
            throw SagaError(
                .invalidArgument,
                "invalid saga id '\(EchoedText.clip(id))': use 1 to 128 letters, digits, '-', '_', '.' or ':', "
                    + "not starting with '-'"
            )
        }
    }

    /// The workflow format text a new saga pins, cached per definition.
    func definitionText(_ definition: SagaDefinition) -> String {
        if let text = definitionTexts.withLock({ $0.lookup(definition) }) { return text }
        let text = definition.json.jsonString
        definitionTexts.withLock { $0.insert(text, for: definition) }
        return text
    }

    func definition(of record: SagaRecord) throws(SagaError) -> SagaDefinition {
        // A row the store could not read in full never runs: its input or definition is a placeholder.
        if let damage = record.damage { throw SagaError(.corruptJournal, damage, sagaID: record.id) }
        if let cached = definitions.withLock({ $0.lookup(record.definition) }) { return cached }
        let result = WorkflowLoader.load(
            string: record.definition, file: "saga \(record.id) (pinned definition)", kinds: pinnedKinds)
        guard let definition = result.definition else {
            throw SagaError(
                .corruptJournal,
                "saga \(record.id): its pinned definition does not load: "
                    + result.diagnostics.prefix(3).map(\.description).joined(separator: "; "),
                sagaID: record.id,
                diagnostics: result.diagnostics
            )
        }
        definitions.withLock { $0.insert(definition, for: record.definition) }
        return definition
    }
}

/// Shared between a worker's slots.
final class WorkerFlags: Sendable {
    let stop = Atomic<Bool>(false)
    let busy = Atomic<Int>(0)
}

/// Stands in for an action kind this build cannot run.
struct UnavailableExecutor: StepExecutor {
    var kind: String
    var module: String
    func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        .failure(.permanent(
            "saga \(context.sagaID), step \(context.step): \(kind) actions are not registered with this engine "
                + "(register \(module) with `engine.register(executor:for: .\(kind))`)"
        ))
    }
}
