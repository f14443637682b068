public import Foundation
import Logging
import Synchronization

/// Sagas of a worker whose next attempts wait for named limits (issue 21): parked out of the worker's slots, their
/// leases still renewed, their waiting requests asked again together until a slot is granted or a wake time is due.
struct LimitParking: Sendable {
    struct Parked: Sendable {
        /// The saga's record as its drive last knew it (handed back to a worker slot).
        var record: SagaRecord
        /// The requests its attempts wait with, in the order its drive made them.
        var requests: [SagaLimitRequest]
        /// When it must be driven again anyway (a retry due, a step's timer), besides a granted slot.
        var wakeAt: Date?
        /// Park order: first parked, first asked.
        var order: Int
    }

    /// A slot granted to a parked saga's attempt, which its next drive takes instead of asking again.
    struct Grant: Sendable, Hashable {
        var sagaID: String
        var holder: String
        var name: String
    }

    var parked: [String: Parked] = [:]
    /// Sagas handed back (a slot granted, a wake time due, a cancel request), first come, first driven.
    var ready: [SagaRecord] = []
    var grants: Set<Grant> = []
    var nextOrder = 0
    var pollScheduled = false
    var polling = false
    var pollAgain = false

    /// Whether the saga is parked or waiting for a slot to drive it.
    func holds(_ sagaID: String) -> Bool {
        parked[sagaID] != nil || ready.contains { $0.id == sagaID }
    }

    /// Moves a parked saga to the ready queue.
    mutating func unpark(_ sagaID: String) -> Bool {
        guard let entry = parked.removeValue(forKey: sagaID) else { return false }
        ready.append(entry.record)
        return true
    }
}

extension SagaEngine {
    /// How many sagas a worker parks at most: beyond that, a saga whose attempt waits for a limit keeps its worker
    /// slot and asks again every `limitPollInterval`, so that one worker does not take a whole backlog's leases.
    var parkingCapacity: Int { max(64, 8 * max(1, configuration.concurrency)) }

    /// How often the parked sagas' requests are asked again, in one write: a slot freed by another process is seen
    /// within this time (one freed by this engine at once).
    static let parkedPollInterval: TimeInterval = 0.05

    /// The limit request of an attempt of `step` in `phase`, `nil` for a step without a limit.
    func limitRequest(
        for step: SagaStep, phase: StepPhase, definition: SagaDefinition, sagaID: String
    ) -> SagaLimitRequest? {
        guard let name = step.limit, let limit = definition.limits[name] else { return nil }
        return SagaLimitRequest(
            name: name, limit: limit, sagaID: sagaID,
            holder: Self.limitHolder(step: step.name, phase: phase), owner: configuration.workerID
        )
    }

    /// Parks a saga whose attempts wait for limits and that has nothing in flight: its drive ends and frees the
    /// worker slot; its lease is renewed with the others; it is handed back when one of its requests is granted,
    /// `wakeAt` is due, a cancel request arrives, or at shutdown it is released.
    ///
    /// A saga that waits for a limit with a `rate` is not parked: its wait is short (the next token), and the hand
    /// back through a worker slot would make the starts the targets see jitter around the grants the rate counts.
    ///
    /// - Returns: `false` when the worker is shutting down, parks `parkingCapacity` sagas already, a request's
    ///   limit has a rate, or the store does not answer parked requests together (`parksLimitWaiters`).
    func park(_ record: SagaRecord, requests: [SagaLimitRequest], wakeAt: Date?) -> Bool {
        guard requests.allSatisfy({ $0.limit.rate == nil }),
            (store as? any SagaStoreLimits)?.parksLimitWaiters == true
        else { return false }
        let parked = state.withLock { s -> Bool in
            guard !s.shuttingDown, s.parking.parked.count < parkingCapacity else { return false }
            s.parking.nextOrder += 1
            s.parking.parked[record.id] = LimitParking.Parked(
                record: record, requests: requests, wakeAt: wakeAt, order: s.parking.nextOrder
            )
            return true
        }
        if parked { ensureParkedPoll() }
        return parked
    }

    /// The next saga handed back to a worker slot, if any: one whose parking drive has ended.
    func takeUnparked() -> SagaRecord? {
        state.withLock { s in
            guard let index = s.parking.ready.firstIndex(where: { !s.driving.contains($0.id) }) else { return nil }
            return s.parking.ready.remove(at: index)
        }
    }

    /// Takes a slot granted while the saga was parked, if the attempt has one.
    func takeGrant(_ request: SagaLimitRequest) -> Bool {
        state.withLock {
            $0.parking.grants.remove(.init(sagaID: request.sagaID, holder: request.holder, name: request.name)) != nil
        }
    }

    /// Frees the slots granted to a saga while parked that its drive did not use (it went another way: a cancel
    /// request, a step that timed out meanwhile).
    func releaseUnusedGrants(of sagaID: String) async {
        let unused = state.withLock { s -> [LimitParking.Grant] in
            let mine = s.parking.grants.filter { $0.sagaID == sagaID }
            s.parking.grants.subtract(mine)
            return Array(mine)
        }
        for grant in unused { await releaseSlot(grant.name, sagaID: sagaID, holder: grant.holder) }
    }

    /// Asks the parked requests again soon: after this engine freed a slot of `name`, at once.
    func slotFreed(limit name: String) {
        let waits = state.withLock { s in
            s.parking.parked.values.contains { $0.requests.contains { $0.name == name } }
        }
        // At once, as a job of the timers' task (a child of the worker's `run()`).
        if waits { timers.scheduleJob(after: .zero) { await self.pollParked() } }
    }

    /// Hands back the parked sagas the lease renewal found cancelled, and forgets those whose lease was lost.
    /// Called with the engine's state locked.
    static func renewedParked(_ s: inout EngineState, cancelled: [String], lost: [String]) -> Bool {
        var handed = false
        for id in cancelled where s.parking.unpark(id) { handed = true }
        for id in lost {
            if s.parking.parked.removeValue(forKey: id) != nil { s.active.remove(id) }
            s.parking.ready.removeAll { $0.id == id }
        }
        return handed
    }

    /// At shutdown: the parked sagas and those handed back but never driven are released at once (their slots and
    /// waiting requests end with their leases), for another worker to run.
    func releaseParked() async {
        let held = state.withLock { s -> [String] in
            let ids = Array(s.parking.parked.keys) + s.parking.ready.map(\.id)
            s.parking.parked = [:]
            s.parking.ready = []
            s.parking.grants = []
            for id in ids { s.active.remove(id) }
            return ids
        }
        for id in held { try? await store.release(sagaID: id, owner: configuration.workerID) }
    }

    private func ensureParkedPoll() {
        let schedule = state.withLock { s in
            guard !s.parking.pollScheduled, !s.parking.parked.isEmpty else { return false }
            s.parking.pollScheduled = true
            return true
        }
        if schedule { scheduleParkedPoll() }
    }

    private func scheduleParkedPoll() {
        timers.scheduleJob(after: .milliseconds(Int64(Self.parkedPollInterval * 1000))) {
            if !Task.isCancelled { await self.pollParked() }
            let again = self.state.withLock { s in
                s.parking.pollScheduled = !s.parking.parked.isEmpty
                return s.parking.pollScheduled
            }
            if again { self.scheduleParkedPoll() }
        }
    }

    /// Asks every parked request again, in one call of the store (`SagaStoreLimits.acquireWaiting`), and hands
    /// back the sagas granted a slot or due. One poll at a time: a request must not be asked twice at once (the
    /// second asking would queue it again after it was granted).
    func pollParked() async {
        let lead = state.withLock { s -> Bool in
            if s.parking.polling {
                s.parking.pollAgain = true
                return false
            }
            s.parking.polling = true
            return true
        }
        guard lead else { return }
        repeat {
            await pollParkedOnce()
        } while state.withLock({ s in
            if s.parking.pollAgain {
                s.parking.pollAgain = false
                return true
            }
            s.parking.polling = false
            return false
        })
    }

    private func pollParkedOnce() async {
        let t = now()
        let (due, asks) = state.withLock { s -> (Bool, [SagaLimitRequest]) in
            var due = false
            var asks: [SagaLimitRequest] = []
            for entry in s.parking.parked.values.sorted(by: { $0.order < $1.order }) {
                if let wake = entry.wakeAt, wake <= t {
                    due = s.parking.unpark(entry.record.id) || due
                } else {
                    asks.append(contentsOf: entry.requests)
                }
            }
            return (due, asks)
        }
        var granted: [SagaLimitRequest] = []
        if !asks.isEmpty, let store = store as? any SagaStoreLimits {
            do {
                granted = try await store.acquireWaiting(asks, now: now())
            } catch {
                logger.warning("cannot ask again for the limits parked sagas wait for: \(error)")
            }
        }
        let (handed, orphans) = state.withLock { s -> (Bool, [SagaLimitRequest]) in
            var handed = false
            var orphans: [SagaLimitRequest] = []
            for request in granted {
                guard s.parking.parked[request.sagaID] != nil || s.parking.ready.contains(where: { $0.id == request.sagaID })
                else {
                    orphans.append(request)
                    continue
                }
                s.parking.grants.insert(.init(sagaID: request.sagaID, holder: request.holder, name: request.name))
                handed = s.parking.unpark(request.sagaID) || handed
            }
            return (handed, orphans)
        }
        // Granted to a saga that is no longer parked (its lease was lost): freed at once.
        for request in orphans { await releaseSlot(request.name, sagaID: request.sagaID, holder: request.holder) }
        if handed || due { wakeWorkers() }
    }
}

extension SagaStoreLimits {
    /// Asks again for each waiting request, in order; returns those granted. A store may do it in one transaction.
    public func acquireWaiting(_ requests: [SagaLimitRequest], now: Date) async throws -> [SagaLimitRequest] {
        var granted: [SagaLimitRequest] = []
        for request in requests where try await acquire(request, now: now) { granted.append(request) }
        return granted
    }

    /// `false`: asking each parked request on its own every 50 ms would cost a round trip each.
    public var parksLimitWaiters: Bool { false }
}
