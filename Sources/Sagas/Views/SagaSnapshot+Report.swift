public import Foundation

extension SagaRecord {
    /// Whether a runnable saga has nobody working on it: no live lease, and no progress for `threshold`.
    public func isStuck(now: Date, threshold: TimeInterval = 15) -> Bool {
        guard status == .running || status == .compensating || status == .pending else { return false }
        return !hasLiveLease(now: now) && now.timeIntervalSince(updatedAt) > threshold
    }

    /// Whether a worker holds a lease on the saga that has not expired. A lease that ends more than
    /// `SagaDuration.maximum` after `now` is not one any worker took (`--lease` is at most that): it comes from a
    /// damaged row, and counts as expired, so that the saga is not held for ever.
    public func hasLiveLease(now: Date) -> Bool {
        guard owner != nil, let leaseExpiresAt else { return false }
        let ends = SagaTime.milliseconds(leaseExpiresAt)
        return ends > SagaTime.milliseconds(now) && ends <= SagaRecord.leaseHorizon(now: SagaTime.milliseconds(now))
    }

    /// The latest time (milliseconds since 1970) a lease taken at `now` may end: `now + SagaDuration.maximum`.
    public static func leaseHorizon(now: Int64) -> Int64 {
        now.addingReportingOverflow(SagaDuration.maximumMilliseconds).overflow ? .max : now + SagaDuration.maximumMilliseconds
    }

    /// The object `saga list --json` prints for a saga.
    public func summaryJSON(now: Date) -> JSONValue {
        var o: [String: JSONValue] = [
            "id": .string(id),
            "workflow": .string(workflow),
            "version": .integer(version),
            "status": .string(status.rawValue),
            "createdAt": .string(SagaTime.format(createdAt)),
            "updatedAt": .string(SagaTime.format(updatedAt)),
            "stuck": .bool(isStuck(now: now)),
        ]
        o["currentStep"] = currentStep.map { .string($0) } ?? .null
        o["lastError"] = lastError.map { .string($0) } ?? .null
        o["owner"] = owner.map { .string($0) } ?? .null
        o["key"] = key.map { .string($0) } ?? .null
        o["rerunOf"] = rerunOf.map { .string($0) } ?? .null
        if let damage { o["damaged"] = .string(damage) }
        if let cancelRequestedAt {
            o["cancelRequestedAt"] = .string(SagaTime.format(cancelRequestedAt))
            o["cancelReason"] = cancelReason.map { .string($0) } ?? .null
            if let cancelBy { o["cancelBy"] = .string(cancelBy) }
        }
        return .object(o)
    }
}

extension SagaSnapshot {
    /// The object `saga show --json` prints (documented in Docs/cli.md).
    public func json(now: Date) -> JSONValue {
        guard case .object(var o) = record.summaryJSON(now: now) else { return .null }
        o["input"] = record.input
        o["leaseExpiresAt"] = record.leaseExpiresAt.map { .string(SagaTime.format($0)) } ?? .null
        o["reruns"] = .array(reruns.map { .string($0) })
        addExclusiveKeys(to: &o)
        if let state {
            o["reason"] = state.reason.map { .string($0) } ?? .null
            o["steps"] = .array(
                state.steps.map { s in
                    .object([
                        "name": .string(s.name),
                        "status": .string(s.status),
                        "attempts": .integer(s.attempts),
                        "compensationAttempts": .integer(s.compensationAttempts),
                        "probeAttempts": .integer(s.probeAttempts),
                        "output": s.output ?? .null,
                        "error": s.lastError.map { .string($0) } ?? .null,
                    ].merging(s.waitJSON) { a, _ in a })
                }
            )
            o["waits"] = state.waitsJSON
            o["interventions"] = .array(
                state.interventions.map { i in
                    var item: [String: JSONValue] = [
                        "id": .string(i.id), "step": .string(i.step), "phase": .string(i.phase.rawValue),
                        "reason": .string(i.reason), "openedAt": .string(SagaTime.format(i.openedAt)),
                        "open": .bool(i.isOpen),
                    ]
                    if let r = i.resolution {
                        item["resolution"] = .object([
                            "action": .string(r.action), "by": .string(r.by),
                            "note": r.note.map { .string($0) } ?? .null, "at": .string(SagaTime.format(r.at)),
                        ])
                    }
                    return .object(item)
                }
            )
        } else {
            o["steps"] = .array([])
            o["interventions"] = .array([])
            o["journalError"] = .string(
                "the journal does not replay against the pinned definition: "
                    + (journalError ?? "the state machine refused it")
            )
        }
        o["events"] = .array(events.map(\.json))
        return .object(o)
    }
}
