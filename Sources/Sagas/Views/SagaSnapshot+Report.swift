public import Foundation

extension SagaRecord {
    /// Whether a runnable saga has nobody working on it: no live lease, and no progress for `threshold`.
    public func isStuck(now: Date, threshold: TimeInterval = 15) -> Bool {
        guard status == .running || status == .compensating || status == .pending else { return false }
        let leaseLive = owner != nil && (leaseExpiresAt.map { $0 > now } ?? false)
        return !leaseLive && now.timeIntervalSince(updatedAt) > threshold
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
        if let cancelRequestedAt {
            o["cancelRequestedAt"] = .string(SagaTime.format(cancelRequestedAt))
            o["cancelReason"] = cancelReason.map { .string($0) } ?? .null
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
                    ])
                }
            )
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
            o["journalError"] = .string("the journal does not replay against the pinned definition")
        }
        o["events"] = .array(events.map(\.json))
        return .object(o)
    }
}
