public import Foundation

extension SagaStatistics {
    /// The object `saga stats --json` prints (and `GET /v1/stats` will serve): every status appears, with 0 when
    /// no saga has it.
    public func json(now: Date) -> JSONValue {
        var statuses: [String: JSONValue] = [:]
        for status in SagaStatus.allCases { statuses[status.rawValue] = .integer(byStatus[status] ?? 0) }
        let workflows: [JSONValue] = byWorkflow.map {
            .object([
                "workflow": .string($0.workflow),
                "version": .integer($0.version),
                "status": .string($0.status.rawValue),
                "count": .integer($0.count),
            ])
        }
        var interventions: [String: JSONValue] = [
            "waiting": .integer(needsIntervention),
            "oldestSince": .null,
            "oldestAgeSeconds": .null,
        ]
        if let oldest = oldestInterventionAt {
            interventions["oldestSince"] = .string(SagaTime.format(oldest))
            interventions["oldestAgeSeconds"] = .integer(Int(max(0, min(now.timeIntervalSince(oldest), 1e15))))
        }
        return .object([
            "total": .integer(total),
            "byStatus": .object(statuses),
            "byWorkflow": .array(workflows),
            "stuck": .integer(stuck),
            "interventions": .object(interventions),
            "finished": .object([
                "lastMinute": .integer(finishedLastMinute),
                "lastHour": .integer(finishedLastHour),
            ]),
        ])
    }
}
