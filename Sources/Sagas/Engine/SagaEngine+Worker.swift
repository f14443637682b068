public import Foundation
import Logging
public import ServiceLifecycle
import Synchronization

// The worker: claims runnable sagas, takes over those of dead workers, renews leases, and drives sagas in its
// slots until graceful shutdown; every task it starts is a child of `run()`.
extension SagaEngine {
    /// Runs sagas from the store until graceful shutdown or cancellation: new ones, and those left by workers that
    /// died. In-flight attempts finish and are journaled before it returns; the rest resumes later.
    ///
    /// Every task it starts is a child of this call: the worker slots, each drive's attempts, and the timers'
    /// task with the jobs it runs (lease renewals, polls of parked limit waiters). Cancelling it cancels and awaits
    /// them all.
    public func run() async throws {
        try await timers.serving {
            try await withGracefulShutdownHandler {
                try await self.work(untilIdle: false)
            } onGracefulShutdown: {
                self.beginShutdown()
            }
        }
    }

    /// Runs sagas until none is pending, running or compensating, then returns.
    public func runUntilIdle() async throws {
        try await timers.serving {
            try await withGracefulShutdownHandler {
                try await self.work(untilIdle: true)
            } onGracefulShutdown: {
                self.beginShutdown()
            }
        }
    }

    /// Stops starting new attempts; in-flight ones finish and are journaled, then the worker returns. Attempts
    /// still running after `configuration.shutdownGrace` are abandoned (``abandonInFlightAttempts()``).
    public func beginShutdown() {
        let (mailboxes, first) = state.withLock { s in
            defer { s.shuttingDown = true }
            return (Array(s.mailboxes.values), !s.shuttingDown)
        }
        for mailbox in mailboxes { mailbox.post(.wake) }
        wakeups.wake()
        if first {
            timers.schedule(after: configuration.shutdownGrace) { [weak self] in self?.abandonInFlightAttempts() }
        }
    }

    /// Shuts down without waiting for attempts in flight: each is stopped (a command's process group is killed)
    /// and journaled with an unknown outcome, "interrupted", then the leases are released. The next worker settles
    /// those attempts like timeouts.
    public func abandonInFlightAttempts() {
        let mailboxes = state.withLock { s in
            s.shuttingDown = true
            s.abandoning = true
            return Array(s.mailboxes.values)
        }
        for mailbox in mailboxes { mailbox.post(.wake) }
    }

    var isAbandoning: Bool { state.withLock { $0.abandoning } }

    var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// Whether a drive loop of this engine is driving the saga.
    func isDriving(_ sagaID: String) -> Bool {
        state.withLock { $0.driving.contains(sagaID) || $0.parking.holds(sagaID) }
    }

    private func work(untilIdle: Bool) async throws {
        let flags = WorkerFlags()
        let sightings = WorkerSightings(
            store: store, id: configuration.workerID,
            interval: Double(SagaDuration.milliseconds(configuration.leaseDuration)) / 3000, now: now()
        )
        logger.info(
            "worker started",
            metadata: ["worker": "\(configuration.workerID)", "concurrency": "\(configuration.concurrency)"]
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<max(1, self.configuration.concurrency) {
                group.addTask {
                    while !flags.stop.load(ordering: .relaxed) && !self.isShuttingDown {
                        await self.recordSighting(sightings)
                        let claimed: SagaRecord?
                        do {
                            claimed = try await self.claimOne()
                        } catch let error as SagaError where SagaEngine.isFatal(error) {
                            // A database that is corrupt, read-only or too new will not heal by waiting: the
                            // worker stops with the error (the CLI prints it once).
                            throw error
                        } catch {
                            self.logger.error("cannot claim work: \(error)")
                            try await self.clock.sleep(for: .seconds(1))
                            continue
                        }
                        if let record = claimed {
                            flags.busy.add(1, ordering: .relaxed)
                            do {
                                _ = try await self.driveToEnd(record, parkable: true)
                            } catch {
                                self.logger.error("\(error)", metadata: ["saga.id": "\(record.id)"])
                            }
                            flags.busy.subtract(1, ordering: .relaxed)
                            continue
                        }
                        if untilIdle, flags.busy.load(ordering: .relaxed) == 0 {
                            // One row through the status index, however many finished sagas the store holds.
                            let runnable = try await self.store.list(
                                SagaQuery(statuses: SagaStatus.allCases.filter(\.isRunnable), limit: 1)
                            )
                            if runnable.isEmpty {
                                flags.stop.store(true, ordering: .relaxed)
                                break
                            }
                        }
                        try await self.idleSleep()
                    }
                }
            }
            try await group.waitForAll()
        }
        // Sagas taken over but never driven: let another worker have them at once.
        let undriven = state.withLock { s in
            defer { s.takenOver.removeAll() }
            return s.takenOver
        }
        for record in undriven {
            state.withLock { _ = $0.active.remove(record.id) }
            try? await store.release(sagaID: record.id, owner: configuration.workerID)
        }
        await releaseParked()
        do {
            try await sightings.stopped(now: now())
        } catch {
            logger.warning("cannot record that the worker stopped: \(error)")
        }
        logger.info("worker stopped", metadata: ["worker": "\(configuration.workerID)"])
    }

    private func claimOne() async throws -> SagaRecord? {
        // A parked saga handed back holds a slot of a limit, or is due.
        if let record = takeUnparked() { return record }
        // First in, first out: a saga taken over earlier has waited longer.
        // Its record was read just before the take-over; a cancel request since then reaches the drive through the
        // lease renewals, and a lease lost since then makes its first write fail.
        if let record = state.withLock({ $0.takenOver.isEmpty ? nil : $0.takenOver.removeFirst() }) {
            return record
        }
        // Leases held by dead workers on this host need not wait for expiry, and go before new work (a saga
        // interrupted mid-step has been waiting longest). One slot scans at a time; after a scan that took sagas
        // over, the next may start at once (a restarted worker finds thousands), otherwise once a second. The other
        // slots wait for the scan rather than look for new work meanwhile: with thousands of sagas leased to a
        // dead worker, each such look reads them all to find none free, and that was 40% of a recovery's CPU.
        enum Scan { case now, wait, no }
        let scan = state.withLock { s -> Scan in
            if s.scanning { return .wait }
            let t = now()
            guard s.rescanNow || t.timeIntervalSince(s.lastTakeOverScan) > 1 else { return .no }
            s.lastTakeOverScan = t
            s.rescanNow = false
            s.scanning = true
            return .now
        }
        switch scan {
        case .wait:
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let done = state.withLock { s in
                    if s.scanning { s.scanWaiters.append(waiter) }
                    return !s.scanning
                }
                if done { waiter.resume() }
            }
            return try await claimOne()
        case .now:
            let took: Bool
            do {
                took = try await takeOverDeadWorkersSagas()
            } catch {
                endScan()
                throw error
            }
            endScan()
            if took { return try await claimOne() }
        case .no:
            break
        }
        let began = ContinuousClock.now
        let claimed = try await store.claimNext(
            owner: configuration.workerID,
            now: now(),
            leaseUntil: leaseDeadline(),
            limit: 1
        )
        for record in claimed {
            notify(.claimed, record, events: [], status: record.status, since: began, runnableSince: record.updatedAt)
        }
        return claimed.first
    }

    /// Ends a scan for dead workers' sagas and wakes the slots that waited for it.
    private func endScan() {
        let waiters = state.withLock { s in
            s.scanning = false
            defer { s.scanWaiters.removeAll() }
            return s.scanWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Takes over the sagas of dead workers on this host; they wait in `takenOver` for a free slot. Returns
    /// whether it took any.
    private func takeOverDeadWorkersSagas() async throws -> Bool {
        // No more than the slots can start soon: sagas taken over but left waiting in a long queue would only
        // move from one dead worker's lease to the next if this worker died too. The rest waits for the next scan.
        let batch = 2 * max(1, configuration.concurrency)
        var dead: [String: Bool] = [:]
        let candidates = try await store.leasedSagas(limit: 1000).filter { candidate in
            guard let owner = candidate.owner, owner != configuration.workerID else { return false }
            if let known = dead[owner] { return known }
            let gone = configuration.liveness.isCertainlyGone(owner)
            dead[owner] = gone
            return gone
        }.prefix(batch)
        // Concurrently, so that the store can commit the take-overs together.
        let taken = try await withThrowingTaskGroup(of: SagaRecord?.self) { group in
            for candidate in candidates {
                group.addTask {
                    guard try await self.takeOverIfOwnerDead(candidate) else { return nil }
                    var record = candidate
                    record.owner = self.configuration.workerID
                    return record
                }
            }
            var taken: [SagaRecord] = []
            for try await record in group { if let record { taken.append(record) } }
            // First in, first out, as the scan found them.
            let order = Dictionary(uniqueKeysWithValues: candidates.enumerated().map { ($1.id, $0) })
            return taken.sorted { order[$0.id, default: 0] < order[$1.id, default: 0] }
        }
        guard !taken.isEmpty else { return false }
        state.withLock { s in
            s.rescanNow = true
            s.takenOver.append(contentsOf: taken)
            // Renewed like the sagas being driven until a slot drives them.
            s.active.formUnion(taken.map(\.id))
        }
        ensureLeaseRenewal()
        return true
    }

    /// Storage errors that waiting will not cure: the worker stops with them instead of retrying.
    static func isFatal(_ error: SagaError) -> Bool {
        [.databaseCorrupt, .databaseReadOnly, .schemaTooNew, .databaseNotFound].contains(error.code)
    }

    /// Takes a saga over when its owner is a worker on this host whose process is gone.
    func takeOverIfOwnerDead(_ record: SagaRecord) async throws -> Bool {
        guard let owner = record.owner, owner != configuration.workerID,
            configuration.liveness.isCertainlyGone(owner)
        else { return false }
        let began = ContinuousClock.now
        let taken = try await store.takeOver(
            sagaID: record.id,
            from: owner,
            owner: configuration.workerID,
            leaseUntil: leaseDeadline()
        )
        if taken {
            notify(.takenOver, record, events: [], status: record.status, since: began, runnableSince: record.updatedAt)
            logger.notice(
                "took over saga from a worker that is gone",
                metadata: ["saga.id": "\(record.id)", "previous.owner": "\(owner)"]
            )
        }
        return taken
    }

    func leaseDeadline() -> Date {
        now().addingTimeInterval(Double(SagaDuration.milliseconds(configuration.leaseDuration)) / 1000)
    }

    /// Makes sure the leases of the sagas this engine drives (or has taken over) are renewed every third of their
    /// length while there are any: one renewal scheduled on `timers` at a time, rescheduled while sagas remain.
    func ensureLeaseRenewal() {
        let schedule = state.withLock { s in
            guard !s.renewalScheduled, !s.active.isEmpty else { return false }
            s.renewalScheduled = true
            return true
        }
        if schedule { scheduleLeaseRenewal() }
    }

    private func scheduleLeaseRenewal() {
        let interval = Duration.milliseconds(max(50, SagaDuration.milliseconds(configuration.leaseDuration) / 3))
        // A child of the timers' task (of the worker's `run()`, or of the drive that serves the timers).
        timers.scheduleJob(after: interval) {
            // Cancelled: the scope serving the timers ended; the next one renews.
            if !Task.isCancelled { await self.renewLeases() }
            let again = self.state.withLock { s in
                s.renewalScheduled = !s.active.isEmpty
                return s.renewalScheduled
            }
            if again { self.scheduleLeaseRenewal() }
        }
    }

    private func renewLeases() async {
        let ids = state.withLock { Array($0.active) }
        guard !ids.isEmpty else { return }
        do {
            let held = try await selfFenced {
                try await store.renewLeases(sagaIDs: ids, owner: configuration.workerID, leaseUntil: leaseDeadline())
            }
            let heldIDs = Set(held.map(\.id))
            let (nudge, unparked): ([DriveMailbox], Bool) = state.withLock { s in
                var nudge: [DriveMailbox] = []
                var cancelled: [String] = []
                var lost: [String] = []
                for record in held {
                    if let reason = record.cancelReason, record.cancelRequestedAt != nil, s.cancelRequests[record.id] == nil {
                        s.cancelRequests[record.id] = reason
                        if let by = record.cancelBy { s.cancelActors[record.id] = by }
                        cancelled.append(record.id)
                        if let mailbox = s.mailboxes[record.id] { nudge.append(mailbox) }
                    }
                }
                for id in ids where !heldIDs.contains(id) && s.active.contains(id) {
                    s.lostLeases.insert(id)
                    lost.append(id)
                    if let mailbox = s.mailboxes[id] { nudge.append(mailbox) }
                }
                return (nudge, Self.renewedParked(&s, cancelled: cancelled, lost: lost))
            }
            for mailbox in nudge { mailbox.post(.wake) }
            if unparked { wakeWorkers() }
        } catch where Task.isCancelled {
            logger.debug("lease renewal cancelled: \(error)")
        } catch {
            logger.error("cannot renew leases: \(error)")
        }
    }
}
