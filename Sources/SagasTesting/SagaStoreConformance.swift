import Foundation
public import Sagas

/// A violation of the `SagaStore` contract found by `SagaStoreConformance`.
public struct ConformanceFailure: Error, Sendable, CustomStringConvertible {
    /// The check that failed.
    public var check: String
    /// What the store did, and what the contract says.
    public var message: String

    /// A failure of `check`.
    public init(check: String, message: String) {
        self.check = check
        self.message = message
    }

    public var description: String { "\(check): \(message)" }
}

/// The `SagaStore` contract as executable checks, run against every store.
///
/// Each check gets a new, empty store from `makeStore` and throws a `ConformanceFailure` on the first violation.
/// Sagas are created in order of increasing `createdAt` (stores order by creation time; `MemorySagaStore` by
/// insertion order), and times are whole milliseconds (stores keep milliseconds).
///
/// ```swift
/// @Test(arguments: SagaStoreConformance.checkNames)
/// func conformance(check: String) async throws {
///     try await SagaStoreConformance.check(check) { MemorySagaStore() }
/// }
/// ```
public enum SagaStoreConformance {
    /// One named check of the contract.
    public struct Check: Sendable {
        /// A short name, for test reports.
        public let name: String
        let body: @Sendable (any SagaStore) async throws -> Void
    }

    /// Every check, in a fixed order.
    public static let checks: [Check] = [
        Check(name: "create journals a pending saga", body: createJournalsPendingSaga),
        Check(name: "create returns existing or conflicts", body: createExistingOrConflict),
        Check(name: "claim and lease expiry", body: claimAndLeaseExpiry),
        Check(name: "claimNext order and limit", body: claimNextOrderAndLimit),
        Check(name: "takeOver", body: takeOver),
        Check(name: "append continues the journal", body: appendContinuesJournal),
        Check(name: "append refuses gaps and duplicates", body: appendRefusesBadSequence),
        Check(name: "append needs the lease", body: appendNeedsLease),
        Check(name: "append releases the lease when not runnable", body: appendReleasesWhenNotRunnable),
        Check(name: "renewLeases and release", body: renewAndRelease),
        Check(name: "appendUnowned is a compare-and-set", body: appendUnownedCompareAndSet),
        Check(name: "requestCancel", body: requestCancel),
        Check(name: "list, countByStatus and leasedSagas", body: listAndCount),
        Check(name: "concurrent appends from 50 sagas", body: concurrentAppends),
        Check(name: "concurrent creates and refused appends", body: concurrentMixedWrites),
        Check(name: "exclusive keys queue in submission order", body: exclusiveKeysQueueInSubmissionOrder),
    ] + waitChecks + limitChecks

    /// The names of every check, for `@Test(arguments:)`.
    public static var checkNames: [String] { checks.map(\.name) }

    /// Runs every check, each against a new store from `makeStore`.
    ///
    /// - Throws: `ConformanceFailure` for the first violation (or the first unexpected error, wrapped).
    public static func check(makeStore: @Sendable () async throws -> any SagaStore) async throws {
        for check in checks {
            try await run(check, makeStore: makeStore)
        }
    }

    /// Runs the check named `name` against a new store from `makeStore`.
    ///
    /// - Throws: `ConformanceFailure` for a violation, or for an unknown name.
    public static func check(_ name: String, makeStore: @Sendable () async throws -> any SagaStore) async throws {
        guard let check = checks.first(where: { $0.name == name }) else {
            throw ConformanceFailure(check: name, message: "no such conformance check")
        }
        try await run(check, makeStore: makeStore)
    }

    private static func run(_ check: Check, makeStore: @Sendable () async throws -> any SagaStore) async throws {
        let store = try await makeStore()
        do {
            try await check.body(store)
        } catch let violation as ConformanceViolation {
            throw ConformanceFailure(check: check.name, message: violation.message)
        } catch let error as ConformanceFailure {
            throw error
        } catch {
            throw ConformanceFailure(check: check.name, message: "unexpected error: \(error)")
        }
    }
}

// MARK: - Checks

extension SagaStoreConformance {
    private static func createJournalsPendingSaga(_ store: any SagaStore) async throws {
        var record = F.record(id: "a")
        record.status = .running
        record.owner = "intruder"
        record.leaseExpiresAt = F.time(1_000)
        record.currentStep = "charge"
        let events = [F.started(record), SagaEvent(seq: 2, at: F.time(1), type: .stepStarted, step: "charge")]
        let creation = try await store.create(record, events: events)
        guard case .created(let created) = creation else {
            throw ConformanceViolation(message: "create of a new id returned \(creation), not .created")
        }
        try expectEqual(created.status, .pending, "status of a created saga")
        try expect(created.owner == nil && created.leaseExpiresAt == nil, "a created saga has an owner: \(created)")
        try expectEqual(created.lastSeq, 2, "lastSeq after creating with 2 events")
        try expectEqual(try await mustFind(store, "a"), created, "saga(id:) after create")
        try expectEqual(try await store.events(sagaID: "a"), events, "events after create")
        try expect(try await store.saga(id: "missing") == nil, "saga(id:) of an unknown id is not nil")
        try expectEqual(try await store.events(sagaID: "missing"), [], "events of an unknown saga")
    }

    private static func createExistingOrConflict(_ store: any SagaStore) async throws {
        let record = F.record(id: "a", input: ["orderId": "o-1", "amount": 10])
        let created = try await F.create(record, in: store)
        var again = F.record(id: "a", input: ["amount": 10, "orderId": "o-1"], createdAt: F.time(5_000))
        again.definition = "{}"
        let second = try await store.create(again, events: [F.started(again)])
        try expectEqual(second, .existing(created), "create with the same id, workflow, version and input")
        try expectEqual(try await store.events(sagaID: "a").count, 1, "events after a repeated create")

        let otherInput = F.record(id: "a", input: ["orderId": "o-2", "amount": 10])
        try await expectError(.sagaConflict, "create with the same id and another input") {
            _ = try await store.create(otherInput, events: [F.started(otherInput)])
        }
        let otherVersion = F.record(id: "a", version: 2, input: ["orderId": "o-1", "amount": 10])
        try await expectError(.sagaConflict, "create with the same id and another version") {
            _ = try await store.create(otherVersion, events: [F.started(otherVersion)])
        }
        let otherWorkflow = F.record(id: "a", workflow: "refund", input: ["orderId": "o-1", "amount": 10])
        try await expectError(.sagaConflict, "create with the same id and another workflow") {
            _ = try await store.create(otherWorkflow, events: [F.started(otherWorkflow)])
        }
        try expectEqual(try await mustFind(store, "a"), created, "the saga after refused creates")
    }

    private static func claimAndLeaseExpiry(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 1)
        guard let claimed = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(100), leaseUntil: F.time(200))
        else { throw ConformanceViolation(message: "claim of an unleased pending saga returned nil") }
        try expectEqual(claimed.owner, "w1", "owner after claim")
        try expectEqual(claimed.leaseExpiresAt, F.time(200), "lease after claim")
        try expectEqual(try await mustFind(store, "s-0"), claimed, "saga(id:) after claim")

        let stolen = try await store.claim(sagaID: "s-0", owner: "w2", now: F.time(150), leaseUntil: F.time(300))
        try expect(stolen == nil, "w2 claimed a saga w1 holds until 200 at 150")
        let renewed = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(150), leaseUntil: F.time(400))
        try expectEqual(renewed?.leaseExpiresAt, F.time(400), "lease after the holder claims again")
        let expired = try await store.claim(sagaID: "s-0", owner: "w2", now: F.time(400), leaseUntil: F.time(500))
        try expectEqual(expired?.owner, "w2", "owner after claiming a saga whose lease expired (now == lease end)")

        try expect(
            try await store.claim(sagaID: "missing", owner: "w1", now: F.time(0), leaseUntil: F.time(1)) == nil,
            "claim of an unknown saga is not nil"
        )
        try await store.append(
            [SagaEvent(seq: 2, at: F.time(450), type: .sagaCompleted)],
            sagaID: "s-0",
            owner: "w2",
            progress: SagaProgress(status: .completed),
            leaseUntil: F.time(600)
        )
        try expect(
            try await store.claim(sagaID: "s-0", owner: "w3", now: F.time(10_000), leaseUntil: F.time(20_000)) == nil,
            "claim of a completed saga is not nil"
        )
    }

    private static func claimNextOrderAndLimit(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 6)
        // s-2 is completed: never claimed.
        _ = try await store.claim(sagaID: "s-2", owner: "w0", now: F.time(0), leaseUntil: F.time(50))
        try await store.append(
            [SagaEvent(seq: 2, at: F.time(10), type: .sagaCompleted)],
            sagaID: "s-2", owner: "w0", progress: SagaProgress(status: .completed), leaseUntil: F.time(50)
        )
        // s-4 is held by w0 until 1000.
        _ = try await store.claim(sagaID: "s-4", owner: "w0", now: F.time(0), leaseUntil: F.time(1_000))

        let first = try await store.claimNext(owner: "w1", now: F.time(100), leaseUntil: F.time(500), limit: 2)
        try expectEqual(first.map(\.id), ["s-0", "s-1"], "claimNext limit 2, oldest first")
        try expect(first.allSatisfy { $0.owner == "w1" && $0.leaseExpiresAt == F.time(500) }, "claimed leases")
        let second = try await store.claimNext(owner: "w2", now: F.time(100), leaseUntil: F.time(500), limit: 10)
        try expectEqual(second.map(\.id), ["s-3", "s-5"], "claimNext skips completed and leased sagas")
        let none = try await store.claimNext(owner: "w2", now: F.time(100), leaseUntil: F.time(500), limit: 10)
        try expectEqual(none.map(\.id), [], "claimNext when every runnable saga is leased")
        let zero = try await store.claimNext(owner: "w2", now: F.time(100), leaseUntil: F.time(500), limit: 0)
        try expectEqual(zero.map(\.id), [], "claimNext with limit 0")

        let afterExpiry = try await store.claimNext(owner: "w3", now: F.time(500), leaseUntil: F.time(900), limit: 3)
        try expectEqual(afterExpiry.map(\.id), ["s-0", "s-1", "s-3"], "claimNext after leases expired")
        let later = try await store.claimNext(owner: "w4", now: F.time(1_000), leaseUntil: F.time(2_000), limit: 10)
        try expectEqual(later.map(\.id), ["s-0", "s-1", "s-3", "s-4", "s-5"], "claimNext after every lease expired")
        try expectEqual(try await mustFind(store, "s-4").owner, "w4", "owner of a saga claimed after expiry")
    }

    private static func takeOver(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 1)
        _ = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(0), leaseUntil: F.time(1_000))
        try expect(
            !(try await store.takeOver(sagaID: "s-0", from: "w9", owner: "w2", leaseUntil: F.time(2_000))),
            "takeOver from a worker that does not hold the lease succeeded"
        )
        try expect(
            try await store.takeOver(sagaID: "s-0", from: "w1", owner: "w2", leaseUntil: F.time(2_000)),
            "takeOver from the holder failed"
        )
        let record = try await mustFind(store, "s-0")
        try expectEqual(record.owner, "w2", "owner after takeOver")
        try expectEqual(record.leaseExpiresAt, F.time(2_000), "lease after takeOver")
        try await expectError(.leaseLost, "append by the worker that was taken over") {
            try await store.append(
                F.stepEvents(from: 2, count: 1), sagaID: "s-0", owner: "w1",
                progress: SagaProgress(status: .running), leaseUntil: F.time(3_000)
            )
        }
        try await store.append(
            F.stepEvents(from: 2, count: 1), sagaID: "s-0", owner: "w2",
            progress: SagaProgress(status: .running), leaseUntil: F.time(3_000)
        )
        try expect(
            !(try await store.takeOver(sagaID: "missing", from: "w2", owner: "w3", leaseUntil: F.time(3_000))),
            "takeOver of an unknown saga succeeded"
        )
    }

    private static func appendContinuesJournal(_ store: any SagaStore) async throws {
        let created = try await F.create(F.record(id: "a"), in: store)
        _ = try await store.claim(sagaID: "a", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        let events = F.stepEvents(from: 2, count: 2, step: "charge", at: F.time(10))
        try await store.append(
            events, sagaID: "a", owner: "w1",
            progress: SagaProgress(status: .running, currentStep: "charge", lastError: "timeout once"),
            leaseUntil: F.time(200)
        )
        var record = try await mustFind(store, "a")
        try expectEqual(record.lastSeq, 3, "lastSeq after appending 2 events")
        try expectEqual(record.status, .running, "status after append")
        try expectEqual(record.currentStep, "charge", "currentStep after append")
        try expectEqual(record.lastError, "timeout once", "lastError after append")
        try expectEqual(record.updatedAt, events.last!.at, "updatedAt is the last event's time")
        try expectEqual(record.owner, "w1", "owner after append")
        try expectEqual(record.leaseExpiresAt, F.time(200), "append extends the lease")
        try expectEqual(record.createdAt, created.createdAt, "createdAt after append")
        try expectEqual(try await store.events(sagaID: "a"), [F.started(created)] + events, "journal after append")

        // nil currentStep and lastError keep the previous values; an empty append changes only the summary.
        try await store.append(
            [], sagaID: "a", owner: "w1", progress: SagaProgress(status: .compensating), leaseUntil: F.time(300)
        )
        record = try await mustFind(store, "a")
        try expectEqual(record.status, .compensating, "status after an empty append")
        try expectEqual(record.currentStep, "charge", "currentStep kept when progress has none")
        try expectEqual(record.lastError, "timeout once", "lastError kept when progress has none")
        try expectEqual(record.updatedAt, events.last!.at, "updatedAt after an empty append")
        try expectEqual(record.lastSeq, 3, "lastSeq after an empty append")
    }

    private static func appendRefusesBadSequence(_ store: any SagaStore) async throws {
        try await F.create(F.record(id: "a"), in: store)
        _ = try await store.claim(sagaID: "a", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        try await store.append(
            F.stepEvents(from: 2, count: 2), sagaID: "a", owner: "w1",
            progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(100)
        )
        let before = try await mustFind(store, "a")
        let journal = try await store.events(sagaID: "a")
        let bad: [(String, [SagaEvent])] = [
            ("a gap (5 after 3)", F.stepEvents(from: 5, count: 1)),
            ("a duplicate (3 after 3)", F.stepEvents(from: 3, count: 1)),
            ("a gap inside the batch (4, 6)", F.stepEvents(from: 4, count: 1) + F.stepEvents(from: 6, count: 1)),
            ("a batch starting at 1", F.stepEvents(from: 1, count: 4)),
            (
                "numbers at the end of the range",
                F.stepEvents(from: 4, count: 2).enumerated().map { offset, event in
                    var event = event
                    event.seq = Int.max - 1 + offset
                    return event
                }
            ),
        ]
        // Both when the status changes and when it stays (a store may check the two ways differently).
        let progresses = [
            SagaProgress(status: .completed, currentStep: "other", lastError: "x"),
            SagaProgress(status: .running, currentStep: "other", lastError: "x"),
        ]
        for (what, events) in bad {
            for progress in progresses {
                try await expectError(.corruptJournal, "append of \(what), status \(progress.status)") {
                    try await store.append(
                        events, sagaID: "a", owner: "w1", progress: progress, leaseUntil: F.time(900)
                    )
                }
                try expectEqual(try await store.events(sagaID: "a"), journal, "journal after a refused append of \(what)")
                try expectEqual(try await mustFind(store, "a"), before, "saga after a refused append of \(what)")
            }
        }
    }

    private static func appendNeedsLease(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 1)
        let one = F.stepEvents(from: 2, count: 1)
        try await expectError(.leaseLost, "append to a saga nobody holds") {
            try await store.append(
                one, sagaID: "s-0", owner: "w1", progress: SagaProgress(status: .running), leaseUntil: F.time(100)
            )
        }
        _ = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        let before = try await mustFind(store, "s-0")
        try await expectError(.leaseLost, "append by a worker that does not hold the lease") {
            try await store.append(
                one, sagaID: "s-0", owner: "w2", progress: SagaProgress(status: .running), leaseUntil: F.time(100)
            )
        }
        try expectEqual(try await store.events(sagaID: "s-0").count, 1, "journal after a refused append")
        try expectEqual(try await mustFind(store, "s-0"), before, "saga after a refused append")
        try await expectError(.sagaNotFound, "append to an unknown saga") {
            try await store.append(
                one, sagaID: "missing", owner: "w1", progress: SagaProgress(status: .running), leaseUntil: F.time(1)
            )
        }
    }

    private static func appendReleasesWhenNotRunnable(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 2)
        for (id, status) in [("s-0", SagaStatus.needsIntervention), ("s-1", .compensated)] {
            _ = try await store.claim(sagaID: id, owner: "w1", now: F.time(0), leaseUntil: F.time(100))
            try await store.append(
                F.stepEvents(from: 2, count: 1), sagaID: id, owner: "w1",
                progress: SagaProgress(status: status, lastError: "boom"), leaseUntil: F.time(100)
            )
            let record = try await mustFind(store, id)
            try expectEqual(record.status, status, "status after append")
            try expect(
                record.owner == nil && record.leaseExpiresAt == nil,
                "append with status \(status.rawValue) did not release the lease: \(record)"
            )
            try await expectError(.leaseLost, "append after the lease was released by a \(status.rawValue) append") {
                try await store.append(
                    F.stepEvents(from: 3, count: 1), sagaID: id, owner: "w1",
                    progress: SagaProgress(status: .running), leaseUntil: F.time(100)
                )
            }
        }
        let leased = try await store.leasedSagas(limit: 10)
        try expectEqual(leased.map(\.id), [], "leasedSagas after every lease was released")
    }

    private static func appendUnownedCompareAndSet(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 2)
        // s-0 waits for a person: nobody holds it.
        _ = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        try await store.append(
            F.stepEvents(from: 2, count: 1), sagaID: "s-0", owner: "w1",
            progress: SagaProgress(status: .needsIntervention), leaseUntil: F.time(100)
        )
        try await expectError(.invalidState, "appendUnowned with a stale expectedLastSeq") {
            try await store.appendUnowned(
                F.stepEvents(from: 2, count: 1), sagaID: "s-0", expectedLastSeq: 1,
                progress: SagaProgress(status: .compensating), now: F.time(10)
            )
        }
        try await store.appendUnowned(
            F.stepEvents(from: 3, count: 1), sagaID: "s-0", expectedLastSeq: 2,
            progress: SagaProgress(status: .compensating), now: F.time(10)
        )
        let record = try await mustFind(store, "s-0")
        try expectEqual(record.status, .compensating, "status after appendUnowned")
        try expectEqual(record.lastSeq, 3, "lastSeq after appendUnowned")
        try expectEqual(try await store.events(sagaID: "s-0").map(\.seq), [1, 2, 3], "journal after appendUnowned")
        try await expectError(.invalidState, "a second appendUnowned at the same expectedLastSeq") {
            try await store.appendUnowned(
                F.stepEvents(from: 3, count: 1), sagaID: "s-0", expectedLastSeq: 2,
                progress: SagaProgress(status: .failed), now: F.time(10)
            )
        }
        // s-1 is held by a live worker: refused.
        _ = try await store.claim(sagaID: "s-1", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        try await expectError(.invalidState, "appendUnowned on a saga a worker holds") {
            try await store.appendUnowned(
                F.stepEvents(from: 2, count: 1), sagaID: "s-1", expectedLastSeq: 1,
                progress: SagaProgress(status: .failed), now: F.time(10)
            )
        }
        try await expectError(.sagaNotFound, "appendUnowned on a missing saga") {
            try await store.appendUnowned(
                F.stepEvents(from: 2, count: 1), sagaID: "missing", expectedLastSeq: 1,
                progress: SagaProgress(status: .failed), now: F.time(10)
            )
        }
    }

    private static func renewAndRelease(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 3)
        _ = try await store.claim(sagaID: "s-0", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        _ = try await store.claim(sagaID: "s-1", owner: "w2", now: F.time(0), leaseUntil: F.time(100))
        _ = try await store.claim(sagaID: "s-2", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        let held = try await store.renewLeases(
            sagaIDs: ["s-2", "s-1", "s-0", "missing"], owner: "w1", leaseUntil: F.time(500)
        )
        try expectEqual(held.map(\.id), ["s-2", "s-0"], "renewLeases returns those held, in the order asked")
        try expect(held.allSatisfy { $0.leaseExpiresAt == F.time(500) }, "renewLeases returned old leases: \(held)")
        try expectEqual(try await mustFind(store, "s-0").leaseExpiresAt, F.time(500), "lease after renewLeases")
        try expectEqual(try await mustFind(store, "s-1").leaseExpiresAt, F.time(100), "another worker's lease")

        try await store.release(sagaID: "s-0", owner: "w2")
        try expectEqual(try await mustFind(store, "s-0").owner, "w1", "owner after a release by another worker")
        try await store.release(sagaID: "s-0", owner: "w1")
        let released = try await mustFind(store, "s-0")
        try expect(released.owner == nil && released.leaseExpiresAt == nil, "release left a lease: \(released)")
        let reclaimed = try await store.claim(sagaID: "s-0", owner: "w3", now: F.time(10), leaseUntil: F.time(600))
        try expectEqual(reclaimed?.owner, "w3", "claim right after a release")
        try await store.release(sagaID: "missing", owner: "w1")
    }

    private static func requestCancel(_ store: any SagaStore) async throws {
        try await createSagas(store, count: 2)
        let cancelled = try await store.requestCancel(sagaID: "s-0", reason: "customer asked", at: F.time(50))
        try expectEqual(cancelled.cancelReason, "customer asked", "cancelReason")
        try expectEqual(cancelled.cancelRequestedAt, F.time(50), "cancelRequestedAt")
        try expectEqual(cancelled.status, .pending, "status after requestCancel")
        let again = try await store.requestCancel(sagaID: "s-0", reason: "second", at: F.time(60))
        try expectEqual(again.cancelReason, "customer asked", "the first cancel request is kept")
        try expectEqual(again.cancelRequestedAt, F.time(50), "the first cancel time is kept")
        try expectEqual(try await mustFind(store, "s-0"), again, "saga(id:) after requestCancel")

        _ = try await store.claim(sagaID: "s-1", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        try await store.append(
            [SagaEvent(seq: 2, at: F.time(5), type: .sagaCompleted)], sagaID: "s-1", owner: "w1",
            progress: SagaProgress(status: .completed), leaseUntil: F.time(100)
        )
        try await expectError(.invalidState, "requestCancel of a completed saga") {
            _ = try await store.requestCancel(sagaID: "s-1", reason: "late", at: F.time(70))
        }
        try expect(try await mustFind(store, "s-1").cancelRequestedAt == nil, "a refused cancel was recorded")
        try await expectError(.sagaNotFound, "requestCancel of an unknown saga") {
            _ = try await store.requestCancel(sagaID: "missing", reason: "x", at: F.time(70))
        }
    }

    private static func listAndCount(_ store: any SagaStore) async throws {
        // o-0…o-4 (workflow order) and r-0…r-2 (refund), created one millisecond apart in that order.
        var all: [SagaRecord] = []
        for i in 0..<8 {
            let workflow = i < 5 ? "order" : "refund"
            let id = i < 5 ? "o-\(i)" : "r-\(i - 5)"
            all.append(try await F.create(F.record(id: id, workflow: workflow, createdAt: F.time(i)), in: store))
        }
        // o-1 and r-1 complete, o-3 runs (leased by w1), r-2 needs intervention.
        for (id, status) in [("o-1", SagaStatus.completed), ("r-1", .completed), ("r-2", .needsIntervention)] {
            _ = try await store.claim(sagaID: id, owner: "w0", now: F.time(0), leaseUntil: F.time(100))
            try await store.append(
                F.stepEvents(from: 2, count: 1, at: F.time(20)), sagaID: id, owner: "w0",
                progress: SagaProgress(status: status), leaseUntil: F.time(100)
            )
        }
        _ = try await store.claim(sagaID: "o-3", owner: "w1", now: F.time(0), leaseUntil: F.time(100))
        try await store.append(
            F.stepEvents(from: 2, count: 1, at: F.time(30)), sagaID: "o-3", owner: "w1",
            progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(100)
        )

        let ids = { (records: [SagaRecord]) in records.map(\.id) }
        try expectEqual(
            ids(try await store.list(SagaQuery())),
            ["r-2", "r-1", "r-0", "o-4", "o-3", "o-2", "o-1", "o-0"],
            "list() newest first"
        )
        try expectEqual(ids(try await store.list(SagaQuery(limit: 3))), ["r-2", "r-1", "r-0"], "list limit 3")
        try expectEqual(
            ids(try await store.list(SagaQuery(statuses: [.completed]))), ["r-1", "o-1"], "list completed"
        )
        try expectEqual(
            ids(try await store.list(SagaQuery(statuses: [.pending, .running]))),
            ["r-0", "o-4", "o-3", "o-2", "o-0"],
            "list pending and running"
        )
        try expectEqual(
            ids(try await store.list(SagaQuery(statuses: [.pending, .running], limit: 2))),
            ["r-0", "o-4"],
            "list pending and running, limit 2"
        )
        try expectEqual(
            ids(try await store.list(SagaQuery(workflow: "refund"))), ["r-2", "r-1", "r-0"], "list workflow refund"
        )
        try expectEqual(
            ids(try await store.list(SagaQuery(statuses: [.completed], workflow: "order"))),
            ["o-1"],
            "list completed orders"
        )
        try expectEqual(ids(try await store.list(SagaQuery(workflow: "nothing"))), [], "list of an unknown workflow")
        let listed = try await store.list(SagaQuery(statuses: [.running]))
        try expectEqual(listed, [try await mustFind(store, "o-3")], "list returns full records")

        try expectEqual(
            try await store.countByStatus(),
            [.pending: 4, .running: 1, .completed: 2, .needsIntervention: 1],
            "countByStatus"
        )
        let leased = try await store.leasedSagas(limit: 10)
        try expectEqual(ids(leased), ["o-3"], "leasedSagas")
        try expectEqual(ids(try await store.leasedSagas(limit: 0)), [], "leasedSagas limit 0")
    }

    private static func concurrentAppends(_ store: any SagaStore) async throws {
        let count = 50
        let records = try await createSagas(store, count: count)
        let claimed = try await store.claimNext(owner: "w1", now: F.time(0), leaseUntil: F.time(60_000), limit: count)
        try expectEqual(claimed.count, count, "claimNext of \(count) sagas")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for record in records {
                group.addTask {
                    for round in 0..<3 {
                        try await store.append(
                            F.stepEvents(from: 2 + round * 2, count: 2, step: "step-\(round)"), sagaID: record.id,
                            owner: "w1", progress: SagaProgress(status: .running, currentStep: "step-\(round)"),
                            leaseUntil: F.time(60_000)
                        )
                    }
                }
            }
            try await group.waitForAll()
        }
        for record in records {
            let journal = try await store.events(sagaID: record.id)
            try expectEqual(journal.map(\.seq), Array(1...7), "journal of \(record.id) after concurrent appends")
            let stored = try await mustFind(store, record.id)
            try expectEqual(stored.lastSeq, 7, "lastSeq of \(record.id)")
            try expectEqual(stored.currentStep, "step-2", "currentStep of \(record.id)")
        }
    }

    private static func concurrentMixedWrites(_ store: any SagaStore) async throws {
        let records = try await createSagas(store, count: 30)
        _ = try await store.claimNext(owner: "w1", now: F.time(0), leaseUntil: F.time(60_000), limit: 30)
        // At once: good appends, appends with a gap, appends by the wrong worker, and new sagas.
        let outcomes = try await withThrowingTaskGroup(of: (String, SagaError.Code?).self) { group in
            for (i, record) in records.enumerated() {
                group.addTask {
                    let events = F.stepEvents(from: i % 3 == 1 ? 3 : 2, count: 2)
                    do {
                        try await store.append(
                            events, sagaID: record.id, owner: i % 3 == 2 ? "w2" : "w1",
                            progress: SagaProgress(status: .running), leaseUntil: F.time(60_000)
                        )
                        return (record.id, nil)
                    } catch let error as SagaError {
                        return (record.id, error.code)
                    }
                }
            }
            for i in 0..<20 {
                group.addTask {
                    let record = F.record(id: "new-\(i)", createdAt: F.time(1_000 + i))
                    _ = try await store.create(record, events: [F.started(record)])
                    return (record.id, nil)
                }
            }
            var outcomes: [String: SagaError.Code?] = [:]
            for try await (id, code) in group { outcomes[id] = code }
            return outcomes
        }
        for (i, record) in records.enumerated() {
            let expected: SagaError.Code? = [nil, .corruptJournal, .leaseLost][i % 3]
            try expectEqual(outcomes[record.id] ?? nil, expected, "outcome of the concurrent append to \(record.id)")
            let journal = try await store.events(sagaID: record.id)
            try expectEqual(journal.count, expected == nil ? 3 : 1, "journal length of \(record.id)")
        }
        for i in 0..<20 {
            try expectEqual(try await store.events(sagaID: "new-\(i)").count, 1, "journal of new-\(i)")
        }
        try expectEqual(try await store.countByStatus(), [.pending: 40, .running: 10], "counts after the concurrent writes")
    }
}
