import GRDB
import Sagas
import Synchronization

/// Group commit: concurrent writes share one write transaction, and so one fsync.
///
/// No background task: a caller that finds no flush in progress becomes the leader. It takes every pending write,
/// runs them in one immediate transaction (each in its own savepoint, so a write that throws writes nothing and
/// leaves the others alone), commits, then gives each caller its own result. If writes arrived meanwhile, it hands
/// the lead to the oldest waiting caller, which commits the next batch, and so on until nothing is pending: a caller
/// leads at most one batch after its own write committed. Nothing is acknowledged before the commit that holds it;
/// when the commit fails, every write of that transaction fails with the mapped error.
final class SQLiteWriteBatcher: Sendable {
    /// A write waiting for a transaction: runs in the transaction and returns how to report its outcome.
    private struct Pending: Sendable {
        /// Runs the write inside the batch's transaction; returns what to do once the transaction committed.
        let apply: @Sendable (Database) throws(AbortBatch) -> @Sendable () -> Void
        /// Reports a failure of the whole transaction (the write was not committed).
        let fail: @Sendable (SagaError) -> Void
        /// Wakes the waiting caller to lead the next batch.
        let promote: @Sendable () -> Void
        let events: Int
    }

    /// Thrown out of a batch when a write left the transaction unusable (SQLite rolled it back).
    private struct AbortBatch: Error {
        let error: SagaError
    }

    private struct State {
        var pending: [Pending] = []
        var flushing = false
        var stats = SQLiteSagaStore.JournalStatistics()
    }

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
    /// - Parameter events: How many journal rows the write inserts (for the statistics).
    /// - Throws: What `body` throws (mapped to `SagaError`), or the mapped error of the failed commit.
    func submit<T: Sendable>(events: Int, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        if readOnly { throw errors.readOnly() }
        let slot = ResultSlot<T>()
        let errors = self.errors
        let item = Pending(
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
            events: events
        )
        let leader = state.withLock { state in
            state.pending.append(item)
            if state.flushing { return false }
            state.flushing = true
            return true
        }
        if leader {
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

    /// Commits every pending write in one transaction, then hands the lead to the oldest write that arrived
    /// meanwhile (or ends the flush). Only the leader calls it.
    private func flushOnce() async {
        let batch: [Pending] = state.withLock { state in
            let batch = state.pending
            state.pending = []
            return batch
        }
        if !batch.isEmpty {
            await commit(batch)
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

    private func commit(_ batch: [Pending]) async {
        let pool = self.pool
        do {
            // Shielded on purpose: the leader's task may be cancelled, but the other callers' writes in this batch
            // must still commit (or fail on their own), so the transaction runs in a task that is not cancelled.
            let reports = try await Task {
                try await pool.writeWithoutTransaction { db in
                    var reports: [@Sendable () -> Void] = []
                    reports.reserveCapacity(batch.count)
                    try db.inTransaction(.immediate) {
                        for item in batch {
                            reports.append(try item.apply(db))
                        }
                        CrashPoint.reach(.insideCommit)
                        return .commit
                    }
                    return reports
                }
            }.value
            state.withLock { state in
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
