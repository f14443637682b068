import Foundation
import Sagas
import Synchronization

/// Group commit on PostgreSQL: appends of many sagas that arrive while a commit is in flight share one statement,
/// and so one commit (one WAL flush).
///
/// No background task: a caller that finds fewer than `maximumInFlight` flushes running becomes a leader. It takes
/// the pending appends (up to `maximumBatch`, one per saga), writes them with `flush` (one statement, its own
/// transaction), and gives each caller its outcome. Then, if appends arrived meanwhile, it hands the lead to the
/// oldest of them and returns to its own caller. Several flushes may run at once on several connections (each
/// saga's appends come one after the other, so no two flushes hold appends of one saga).
///
/// Nothing is acknowledged before the commit that holds it. `flush` returns the appends it took; an append it did
/// not take (its saga's fence failed) is answered `.refused` alone, and the others of the batch still commit.
/// When the statement fails, every append of that batch is answered `.failed` (nothing of it was written, or, with
/// a lost answer, all of it: the caller's retry tells).
final class PostgresAppendBatcher: Sendable {
    /// What became of one append.
    enum Outcome: Sendable {
        /// Written and committed.
        case taken
        /// Not written: its saga's owner, lease epoch or last event number did not match.
        case refused
        /// The batch's statement failed.
        case failed(SagaError, batchSize: Int)
    }

    /// How the journal's group commit did, for the bench report.
    struct Statistics: Sendable {
        /// Statements (each its own commit).
        var commits = 0
        /// Appends written by them.
        var appends = 0
        /// The largest batch.
        var largest = 0
        /// Journal rows they inserted.
        var eventRows = 0
        /// Seconds spent waiting for them (summed over the flushes in flight).
        var seconds = 0.0
    }

    private struct Pending: Sendable {
        let append: PostgresAppend
        let slot: AppendSlot
    }

    private struct State {
        var pending: [Pending] = []
        var inFlight = 0
        var stats = Statistics()
    }

    /// How many flushes may run at once (each on a connection of the pool).
    let maximumInFlight: Int
    /// The most appends one statement holds.
    let maximumBatch: Int
    private let errors: PostgresErrorMapper
    private let state = Mutex(State())

    /// How many flushes run at once on a pool of `connections`: half of them (at least one), leaving the others
    /// to claims, renewals and reads. More flushes in flight mean smaller batches, not more commits per second,
    /// once the server's WAL flush is the limit.
    static func flushes(connections: Int) -> Int {
        max(1, connections / 2)
    }

    init(maximumInFlight: Int, maximumBatch: Int = 128, errors: PostgresErrorMapper) {
        self.maximumInFlight = max(1, maximumInFlight)
        self.maximumBatch = max(1, maximumBatch)
        self.errors = errors
    }

    var statistics: Statistics {
        state.withLock { $0.stats }
    }

    /// Writes `append` in the next shared statement and returns its outcome once that statement committed.
    ///
    /// - Parameter flush: Writes a batch in one statement and returns the indices of the appends it wrote (a leader
    ///   runs the one its caller passed; every caller passes the same).
    func submit(
        _ append: PostgresAppend,
        flush: @escaping @Sendable ([PostgresAppend]) async throws -> Set<Int>
    ) async -> Outcome {
        let slot = AppendSlot()
        let item = Pending(append: append, slot: slot)
        let lead = state.withLock { state -> Bool in
            guard state.inFlight < maximumInFlight else {
                state.pending.append(item)
                return false
            }
            state.inFlight += 1
            return true
        }
        if lead { await flushOnce(first: item, flush: flush) }
        while true {
            switch await slot.wait() {
            case .done(let outcome):
                return outcome
            case .lead:
                // Promoted: this append was taken out of the queue for this caller's own batch.
                await flushOnce(first: item, flush: flush)
            }
        }
    }

    /// Writes one batch, `first` (the leader's own append, in no queue) and the pending appends, then hands the lead
    /// to the oldest append still pending (taking it out of the queue, so that no other leader writes it) or gives
    /// the flush slot back. Only a leader (holding one of the `inFlight` slots) calls it.
    private func flushOnce(
        first: Pending,
        flush: @Sendable ([PostgresAppend]) async throws -> Set<Int>
    ) async {
        let batch: [Pending] = state.withLock { state in
            var taken: [Pending] = [first]
            var sagas: Set<String> = [first.append.sagaID]
            var left: [Pending] = []
            for item in state.pending {
                if taken.count < maximumBatch, sagas.insert(item.append.sagaID).inserted {
                    taken.append(item)
                } else {
                    left.append(item)
                }
            }
            state.pending = left
            return taken
        }
        await commit(batch, flush: flush)
        let next: Pending? = state.withLock { state in
            guard !state.pending.isEmpty else {
                state.inFlight -= 1
                return nil
            }
            return state.pending.removeFirst()
        }
        next?.slot.promote()
    }

    /// Counts one statement that wrote `appends` of a batch of `size` (`eventRows` journal rows).
    func record(size: Int, appends: Int, eventRows: Int, seconds: Double) {
        state.withLock { state in
            state.stats.commits += 1
            state.stats.appends += appends
            state.stats.eventRows += eventRows
            state.stats.seconds += seconds
            state.stats.largest = max(state.stats.largest, size)
        }
    }

    private func commit(_ batch: [Pending], flush: @Sendable ([PostgresAppend]) async throws -> Set<Int>) async {
        do {
            let taken = try await flush(batch.map(\.append))
            for (index, item) in batch.enumerated() {
                item.slot.resolve(taken.contains(index) ? .taken : .refused)
            }
        } catch {
            let mapped = errors.map(error)
            for item in batch { item.slot.resolve(.failed(mapped, batchSize: batch.count)) }
        }
    }
}

/// One append of a batch: what the single-saga statement (`writeSummary`) would write, and its fence.
struct PostgresAppend: Sendable {
    let sagaID: String
    let owner: String
    /// The lease epoch this store claimed the saga with (`nil`: not claimed by this store; only the owner counts).
    let epoch: Int64?
    let events: [SagaEvent]
    let progress: SagaProgress
    /// The new lease, or `nil` to release it.
    let leaseUntil: Date?
}

/// A one-shot outcome that the leader sets and the caller awaits, whichever comes first; or a call to lead.
private final class AppendSlot: Sendable {
    enum Signal: Sendable {
        case done(PostgresAppendBatcher.Outcome)
        /// The caller's append is still pending, and the caller is to lead the next batch.
        case lead
    }

    private enum State {
        case idle
        case waiting(CheckedContinuation<Signal, Never>)
        case signalled(Signal)
    }

    private let state = Mutex(State.idle)

    func resolve(_ outcome: PostgresAppendBatcher.Outcome) {
        signal(.done(outcome))
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
                preconditionFailure("an append was signalled twice before its caller looked")
            }
        }
        continuation?.resume(returning: signal)
    }

    /// The next signal: the outcome, or a call to lead.
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
                    preconditionFailure("an append was awaited twice")
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
