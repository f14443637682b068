import GRDB
import Sagas
import Synchronization

/// Group commit: concurrent writes share one write transaction, and so one fsync.
///
/// No background task: a caller that finds no flush in progress becomes the leader. It takes every pending write,
/// runs them in one immediate transaction, commits, then gives each caller its own result. When one write throws,
/// that transaction is rolled back and the batch runs again with each write in its own savepoint, so that the
/// failed write writes nothing and the others commit. While writes keep arriving the leader commits up to
/// `batchesPerLead` transactions, then hands the lead to the oldest waiting caller. Nothing is acknowledged before
/// the commit that holds it; when the commit fails, every write of that transaction fails with the mapped error.
final class SQLiteWriteBatcher: Sendable {
    /// A write waiting for a transaction: runs in the transaction and returns how to report its outcome.
    private struct Pending: Sendable {
        /// Runs the write in the batch's transaction with no savepoint of its own; returns what to do once the
        /// transaction committed. Throws `Refused` when the write fails (the batch is then run again, each write
        /// in a savepoint), or `AbortBatch`.
        let applyDirect: @Sendable (Database) throws -> @Sendable () -> Void
        /// Runs the write inside the batch's transaction, in a savepoint; returns what to do once the transaction
        /// committed.
        let apply: @Sendable (Database) throws(AbortBatch) -> @Sendable () -> Void
        /// Reports a failure of the whole transaction (the write was not committed).
        let fail: @Sendable (SagaError) -> Void
        /// Wakes the waiting caller to lead the next batch.
        let promote: @Sendable () -> Void
        let events: Int
        /// The saga an `append` writes to (`nil` for other writes).
        let saga: String?
    }

    /// Thrown out of a batch when a write left the transaction unusable (SQLite rolled it back).
    private struct AbortBatch: Error {
        let error: SagaError
    }

    /// Thrown out of the optimistic run of a batch when one of its writes failed on its own.
    private struct Refused: Error {}

    private struct State {
        var pending: [Pending] = []
        var flushing = false
        var stats = SQLiteSagaStore.JournalStatistics()
        /// Writes submitted and not yet answered.
        var inFlight = 0
        /// When a write last found another in flight.
        var lastConcurrent: ContinuousClock.Instant?
        /// The saga of the last transaction when it held one `append` alone, and when it committed.
        var lastAlone: (saga: String, end: ContinuousClock.Instant)?
    }

    /// How long after writes last overlapped a new leader still yields before it commits.
    static let concurrencyMemory = Duration.milliseconds(100)

    private let pool: DatabasePool
    private let errors: SQLiteErrorMapper
    private let readOnly: Bool
    private let state = Mutex(State())

    init(pool: DatabasePool, errors: SQLiteErrorMapper, readOnly: Bool) {
        self.pool = pool
        self.errors = errors
        self.readOnly = readOnly
    }

    var statistics: SQLiteSagaStore.JournalStatistics {
        state.withLock { $0.stats }
    }

    /// Runs `body` in the next shared transaction and returns its result once that transaction committed.
    ///
    /// - Parameters:
    ///   - events: How many journal rows the write inserts (for the statistics).
    ///   - saga: The saga an `append` writes to, `nil` for other writes (it decides whether a leader yields).
    /// - Throws: What `body` throws (mapped to `SagaError`), or the mapped error of the failed commit.
    func submit<T: Sendable>(
        events: Int,
        saga: String? = nil,
        _ body: @escaping @Sendable (Database) throws -> T
    ) async throws -> T {
        if readOnly { throw errors.readOnly() }
        let slot = ResultSlot<T>()
        let errors = self.errors
        let item = Pending(
            applyDirect: { db in
                let value: T
                do {
                    value = try body(db)
                } catch {
                    let mapped = errors.map(error)
                    if !db.isInsideTransaction || mapped.code == .databaseCorrupt { throw AbortBatch(error: mapped) }
                    throw Refused()
                }
                return { slot.resolve(.success(value)) }
            },
            apply: { db throws(AbortBatch) in
                let result: Result<T, SagaError>
                do {
                    var value: T?
                    try db.inSavepoint {
                        value = try body(db)
                        return .commit
                    }
                    result = .success(value!)
                } catch {
                    let mapped = errors.map(error)
                    // SQLite may roll the whole transaction back on some errors (a full disk, an I/O error): then
                    // no write of this batch can commit.
                    guard db.isInsideTransaction else { throw AbortBatch(error: mapped) }
                    // A corrupt file must not be written at all: committing the rest of the batch would still
                    // rewrite the header and grow the file. Roll everything back.
                    if mapped.code == .databaseCorrupt { throw AbortBatch(error: mapped) }
                    result = .failure(mapped)
                }
                return { slot.resolve(result) }
            },
            fail: { error in slot.resolve(.failure(error)) },
            promote: { slot.promote() },
            events: events,
            saga: saga
        )
        let now = ContinuousClock.now
        let (leader, yieldFirst) = state.withLock { state in
            state.pending.append(item)
            state.inFlight += 1
            if state.inFlight > 1 { state.lastConcurrent = now }
            if state.flushing { return (false, false) }
            state.flushing = true
            if let last = state.lastConcurrent, now - last < Self.concurrencyMemory { return (true, true) }
            // Appends to different sagas, each committed alone, back to back: their callers are ready but share
            // a thread that commits each before the next can run. Yielding lets them queue up.
            if let saga, let alone = state.lastAlone, alone.saga != saga, now - alone.end < .milliseconds(1) {
                return (true, true)
            }
            return (true, false)
        }
        defer { state.withLock { $0.inFlight -= 1 } }
        if leader {
            // While writes overlap, the leader first yields, so that writers ready to run (but with no free thread
            // to run on) reach the queue and share this commit. A saga's write that follows its own previous one
            // commits at once: the yield would cost it a thread hand-off (about 35 µs a commit, a fifth of a
            // saga's latency when sagas run one at a time).
            if yieldFirst { await Task.yield() }
            await flushOnce()
        }
        while true {
            switch await slot.wait() {
            case .done(let result):
                return try result.get()
            case .lead:
                await flushOnce()
            }
        }
    }

    /// Commits every pending write in one transaction, and again while writes keep arriving, up to
    /// `batchesPerLead` transactions; then hands the lead to the oldest write that arrived meanwhile (or ends the
    /// flush). Only the leader calls it.
    private func flushOnce() async {
        for _ in 0..<Self.batchesPerLead {
            let batch: [Pending] = state.withLock { state in
                let batch = state.pending
                state.pending = []
                return batch
            }
            if !batch.isEmpty {
                await commit(batch)
            }
            let more = state.withLock { state in
                if state.pending.isEmpty { state.flushing = false }
                return !state.pending.isEmpty
            }
            if !more { return }
        }
        let next: Pending? = state.withLock { state in
            guard let next = state.pending.first else {
                state.flushing = false
                return nil
            }
            return next
        }
        next?.promote()
    }

    /// How many transactions a leader commits in a row before it hands the lead on: handing it on costs a thread
    /// hand-off between commits, keeping it delays the leader's own saga.
    static let batchesPerLead = 8

    private func commit(_ batch: [Pending]) async {
        do {
            // On the leader's own thread: a hop to another thread and back costs more than the commit's CPU. The
            // leader blocks while the commit flushes, the other callers' tasks go on running.
            let started = ContinuousClock.now
            let reports = try syncWrite(pool) { db in try Self.run(batch, db: db) }
            let ended = ContinuousClock.now
            let busy = ended - started
            state.withLock { state in
                state.lastAlone = batch.count == 1 ? batch[0].saga.map { ($0, ended) } : nil
                state.stats.transactionSeconds += SagaDuration.seconds(busy)
                state.stats.commits += 1
                state.stats.writes += batch.count
                state.stats.eventRows += batch.reduce(0) { $0 + $1.events }
            }
            for report in reports { report() }
        } catch {
            let mapped = (error as? AbortBatch)?.error ?? errors.map(error)
            for item in batch { item.fail(mapped) }
        }
    }

    /// Runs a batch in one immediate transaction and commits it. First every write runs as is; when one fails on
    /// its own (a lost lease, a conflict), that transaction is rolled back and the batch runs again with each write
    /// in its own savepoint, so that the failed write writes nothing and the others commit.
    private static func run(_ batch: [Pending], db: Database) throws -> [@Sendable () -> Void] {
        do {
            return try transaction(batch, db: db) { item in try item.applyDirect(db) }
        } catch is Refused {
            return try transaction(batch, db: db) { item in try item.apply(db) }
        }
    }

    /// One immediate transaction that applies each write with `apply` and commits; rolled back when anything
    /// throws.
    private static func transaction(
        _ batch: [Pending],
        db: Database,
        _ apply: (Pending) throws -> @Sendable () -> Void
    ) throws -> [@Sendable () -> Void] {
        var reports: [@Sendable () -> Void] = []
        reports.reserveCapacity(batch.count)
        try SQLiteRaw.execute(db, "BEGIN IMMEDIATE")
        do {
            for item in batch {
                reports.append(try apply(item))
            }
            CrashPoint.reach(.insideCommit)
            try SQLiteRaw.execute(db, "COMMIT")
            return reports
        } catch {
            try? rollback(db)
            throw error
        }
    }

    private static func rollback(_ db: Database) throws {
        if db.isInsideTransaction {
            try db.execute(sql: "ROLLBACK")
        }
    }
}

/// GRDB's blocking write (the compiler would pick the `async` overload inside an `async` function).
private func syncWrite<T>(_ pool: DatabasePool, _ body: (Database) throws -> T) throws -> T {
    try pool.writeWithoutTransaction(body)
}

/// A one-shot result that the leader sets and the caller awaits, whichever comes first; or a call to lead.
private final class ResultSlot<T: Sendable>: Sendable {
    enum Signal {
        case done(Result<T, SagaError>)
        /// The caller's write is still pending, and the caller is to lead the next batch.
        case lead
    }

    private enum State {
        case idle
        case waiting(CheckedContinuation<Signal, Never>)
        case signalled(Signal)
    }

    private let state = Mutex(State.idle)

    func resolve(_ result: Result<T, SagaError>) {
        signal(.done(result))
    }

    func promote() {
        signal(.lead)
    }

    private func signal(_ signal: Signal) {
        let continuation: CheckedContinuation<Signal, Never>? = state.withLock { state in
            switch state {
            case .waiting(let continuation):
                state = .idle
                return continuation
            case .idle:
                state = .signalled(signal)
                return nil
            case .signalled:
                preconditionFailure("a write was signalled twice before its caller looked")
            }
        }
        continuation?.resume(returning: signal)
    }

    /// The next signal: the result, or a call to lead.
    func wait() async -> Signal {
        await withCheckedContinuation { (continuation: CheckedContinuation<Signal, Never>) in
            let ready: Signal? = state.withLock { state in
                switch state {
                case .signalled(let signal):
                    state = .idle
                    return signal
                case .idle:
                    state = .waiting(continuation)
                    return nil
                case .waiting:
                    preconditionFailure("a write was awaited twice")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

