public import Foundation

/// A saga as its store keeps it: identity, pinned definition, input, and a summary of its progress.
public struct SagaRecord: Sendable, Hashable {
    public var id: String
    /// The workflow's name.
    public var workflow: String
    public var version: Int
    /// The pinned definition (workflow format v1 JSON text) the saga started with.
    public var definition: String
    /// Where the workflow file was: relative command paths resolve against it.
    public var baseDirectory: String?
    public var input: JSONValue
    public var status: SagaStatus
    public var createdAt: Date
    public var updatedAt: Date
    /// The worker that holds the saga's lease, if any.
    public var owner: String?
    public var leaseExpiresAt: Date?
    /// The step most recently started.
    public var currentStep: String?
    public var lastError: String?
    /// Set by `requestCancel`; the worker that runs the saga journals it and compensates.
    public var cancelReason: String?
    public var cancelRequestedAt: Date?
    /// Who asked for the cancel (`saga cancel --by`, the server's token name), on stores that adopt
    /// ``SagaStoreCancelActors``; `nil` for a request made without it, or recorded before stores kept it.
    public var cancelBy: String? = nil
    /// The number of the saga's last journal event.
    public var lastSeq: Int
    /// The business key the workflow's `key` template gave at start (`saga list --key`), if it declares one.
    public var key: String?
    /// The saga this one reruns (`saga rerun`), if any.
    public var rerunOf: String?
    /// Set when the store could not read the saga's row in full (an input that is not JSON, a pinned definition
    /// that is missing, an unknown status, a column of the wrong type): what is wrong, naming the saga. The fields
    /// that could not be read hold placeholders (`input` is `null`, `definition` empty). Such a saga is listed and
    /// shown, marked damaged, but never run: a worker that claims it parks it (`needs_intervention`).
    public var damage: String?
    /// The exclusive keys (the workflow's `exclusive` templates, evaluated at start) a new saga queues for; a store
    /// that adopts ``SagaStoreExclusiveKeys`` takes them in `create`. Records read back from a store leave it empty:
    /// ask `SagaStoreExclusiveKeys.keys(of:)`.
    public var exclusiveKeys: [String] = []

    public init(
        id: String,
        workflow: String,
        version: Int,
        definition: String,
        baseDirectory: String?,
        input: JSONValue,
        status: SagaStatus,
        createdAt: Date,
        updatedAt: Date,
        owner: String? = nil,
        leaseExpiresAt: Date? = nil,
        currentStep: String? = nil,
        lastError: String? = nil,
        cancelReason: String? = nil,
        cancelRequestedAt: Date? = nil,
        lastSeq: Int = 0,
        key: String? = nil,
        rerunOf: String? = nil,
        damage: String? = nil
    ) {
        self.id = id
        self.workflow = workflow
        self.version = version
        self.definition = definition
        self.baseDirectory = baseDirectory
        self.input = input
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.owner = owner
        self.leaseExpiresAt = leaseExpiresAt
        self.currentStep = currentStep
        self.lastError = lastError
        self.cancelReason = cancelReason
        self.cancelRequestedAt = cancelRequestedAt
        self.lastSeq = lastSeq
        self.key = key
        self.rerunOf = rerunOf
        self.damage = damage
    }

    /// Whether a cancel has been requested.
    public var cancelRequested: Bool { cancelRequestedAt != nil }
}

/// What `SagaStore.create` returns.
public enum SagaCreation: Sendable, Hashable {
    /// The saga was journaled now.
    case created(SagaRecord)
    /// A saga with that id, workflow, version and input already existed: the same saga.
    case existing(SagaRecord)

    public var record: SagaRecord {
        switch self {
        case .created(let r), .existing(let r): r
        }
    }
}

/// The summary a worker writes with each batch of events.
public struct SagaProgress: Sendable, Hashable {
    public var status: SagaStatus
    public var currentStep: String?
    public var lastError: String?

    public init(status: SagaStatus, currentStep: String? = nil, lastError: String? = nil) {
        self.status = status
        self.currentStep = currentStep
        self.lastError = lastError
    }
}

/// Which sagas `SagaStore.list` returns: every filter that is set must match. Results are newest first (by
/// creation time, then creation order); every filter is served by an index.
public struct SagaQuery: Sendable, Hashable {
    /// Empty means every status.
    public var statuses: [SagaStatus]
    /// The workflow's name.
    public var workflow: String?
    /// The workflow's version (with `workflow`).
    public var version: Int?
    /// The business key (the workflow's `key` template, evaluated at start).
    public var key: String?
    /// Created at or after this time.
    public var createdSince: Date?
    /// Created before this time.
    public var createdUntil: Date?
    /// Only sagas that are stuck at this time: runnable, held by no live lease, and without progress for
    /// ``SagaQuery/stuckAfter`` (`SagaRecord.isStuck(now:)`).
    public var stuckAt: Date?
    /// Only reruns of the saga with this id (`saga rerun`).
    public var rerunOf: String?
    /// Keyset paging: only sagas listed after the saga with this id (the last row of the previous page).
    public var after: String?
    /// At most this many.
    public var limit: Int

    /// How long a runnable saga that no live worker holds must have made no progress to count as stuck.
    public static let stuckAfter: TimeInterval = 15

    public init(
        statuses: [SagaStatus] = [],
        workflow: String? = nil,
        version: Int? = nil,
        key: String? = nil,
        createdSince: Date? = nil,
        createdUntil: Date? = nil,
        stuckAt: Date? = nil,
        rerunOf: String? = nil,
        after: String? = nil,
        limit: Int = 100
    ) {
        self.statuses = statuses
        self.workflow = workflow
        self.version = version
        self.key = key
        self.createdSince = createdSince
        self.createdUntil = createdUntil
        self.stuckAt = stuckAt
        self.rerunOf = rerunOf
        self.after = after
        self.limit = limit
    }

    /// Whether `record` matches every filter but `after` and `limit` (what a store that scans uses).
    public func matches(_ record: SagaRecord) -> Bool {
        if !statuses.isEmpty && !statuses.contains(record.status) { return false }
        if let workflow, record.workflow != workflow { return false }
        if let version, record.version != version { return false }
        if let key, record.key != key { return false }
        if let createdSince, record.createdAt < createdSince { return false }
        if let createdUntil, record.createdAt >= createdUntil { return false }
        if let stuckAt, !record.isStuck(now: stuckAt) { return false }
        if let rerunOf, record.rerunOf != rerunOf { return false }
        return true
    }
}

/// Where sagas and their journals are kept.
///
/// The contract every store keeps, and that `SagaStoreConformance` checks:
/// - A write is durable when its method returns; nothing is acknowledged before its commit.
/// - Events of a saga are numbered from 1 without gaps: `append` refuses (with `.corruptJournal`) events whose
///   numbers do not continue the journal.
/// - A worker may write a saga's journal only while it holds the saga's lease: `append` throws `.leaseLost`
///   when another worker has taken it.
/// - One saga per id: `create` with an existing id returns the existing saga when the workflow, version and
///   input match, and throws `.sagaConflict` when they differ.
/// - Every error is a `SagaError` (storage codes such as `.databaseLocked`, `.databaseReadOnly`, `.databaseFull`,
///   `.databaseCorrupt`, `.storageFailure` name the file).
public protocol SagaStore: Sendable {
    /// Journals a new saga with its first events (`saga.started`), status `pending` and no owner, or returns the
    /// existing saga with that id.
    ///
    /// - Throws: `.sagaConflict` when a saga with that id exists with another workflow, version or input.
    func create(_ saga: SagaRecord, events: [SagaEvent]) async throws -> SagaCreation

    /// Takes the lease of one runnable saga (`pending`, `running`, `compensating`) when nobody holds it, its lease
    /// expired, or `owner` already holds it. Returns the saga, or `nil` when another worker holds it or it is not
    /// runnable.
    func claim(sagaID: String, owner: String, now: Date, leaseUntil: Date) async throws -> SagaRecord?

    /// Takes the leases of up to `limit` runnable sagas that nobody holds (or whose lease expired), oldest first.
    func claimNext(owner: String, now: Date, leaseUntil: Date, limit: Int) async throws -> [SagaRecord]

    /// Takes over a saga from `previousOwner` (a worker known to be dead), if it still holds the lease.
    func takeOver(sagaID: String, from previousOwner: String, owner: String, leaseUntil: Date) async throws -> Bool

    /// Appends events to a saga's journal and updates its summary, atomically, extending the lease.
    /// When `progress.status` is terminal or `needs_intervention`, the lease is released.
    ///
    /// - Throws: `.leaseLost` when `owner` no longer holds the lease; `.corruptJournal` when the event numbers do
    ///   not continue the journal; `.sagaNotFound`.
    func append(_ events: [SagaEvent], sagaID: String, owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws

    /// Appends events to a saga that no worker holds (an operator's resolution of an intervention), if its journal
    /// still ends at event `expectedLastSeq`. Compare-and-set: of two racing callers, exactly one succeeds.
    ///
    /// - Throws: `.invalidState` when a worker holds a live lease on the saga, or its journal has moved past
    ///   `expectedLastSeq` (someone else wrote first); `.sagaNotFound`.
    func appendUnowned(_ events: [SagaEvent], sagaID: String, expectedLastSeq: Int, progress: SagaProgress, now: Date)
        async throws

    /// Extends the leases `owner` holds on `sagaIDs`; returns the records of those it still holds.
    func renewLeases(sagaIDs: [String], owner: String, leaseUntil: Date) async throws -> [SagaRecord]

    /// Gives up `owner`'s lease on a saga (a worker that stops cleanly), so another may take it at once.
    func release(sagaID: String, owner: String) async throws

    /// Records a request to cancel a saga; the worker that runs it journals it and compensates.
    ///
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is already terminal.
    func requestCancel(sagaID: String, reason: String, at: Date) async throws -> SagaRecord

    /// The saga with that id, or `nil`.
    func saga(id: String) async throws -> SagaRecord?

    /// A saga's journal, in order.
    func events(sagaID: String) async throws -> [SagaEvent]

    /// Sagas matching a query, newest first.
    func list(_ query: SagaQuery) async throws -> [SagaRecord]

    /// How many sagas have each status.
    func countByStatus() async throws -> [SagaStatus: Int]

    /// Sagas that are runnable and leased (to find leases held by dead workers).
    func leasedSagas(limit: Int) async throws -> [SagaRecord]

    /// Counts by status and workflow, stuck sagas, the oldest intervention, and sagas finished recently, as of
    /// `now`. The default scans every saga (`scannedStatistics(now:)`); durable stores answer from indexes.
    func statistics(now: Date) async throws -> SagaStatistics
}

extension SagaStore {
    public func statistics(now: Date) async throws -> SagaStatistics {
        try await scannedStatistics(now: now)
    }
}

/// A store that can journal a new saga already leased to the worker that starts it: an optional capability.
///
/// `SagaEngine.execute` uses it to start a saga and journal its first attempts in one write, instead of a create,
/// a claim and an append (three commits, each a flush of the disk with `synchronous=FULL`).
public protocol SagaStoreCreatingLeased: SagaStore {
    /// Journals a new saga with `events` (its `saga.started` and the attempts it starts with), leased to `owner`
    /// until `leaseUntil`, with the summary `progress`; or, when a saga with that id exists, writes nothing and
    /// returns it, exactly as `create` does.
    ///
    /// - Throws: `.sagaConflict` when the id exists with another workflow, version or input; storage errors.
    func createLeased(_ saga: SagaRecord, events: [SagaEvent], owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws -> SagaCreation
}
