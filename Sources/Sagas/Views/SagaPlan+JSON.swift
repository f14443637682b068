extension SagaPlan {
    /// The object `saga plan --json` prints (and `GET /v1/sagas/{id}/plan` will serve).
    public var json: JSONValue {
        .object([
            "sagaId": sagaID.map { .string($0) } ?? .null,
            "needs": needs.json,
            "workflow": .string(workflow),
            "status": .string(status.rawValue),
            "summary": .string(summary),
            "cancelIgnored": .bool(cancelIgnored),
            "compensations": .array(compensations.enumerated().map { i, c in
                .object([
                    "order": .integer(i + 1),
                    "step": .string(c.step),
                    "idempotencyKey": c.idempotencyKey.map { .string($0) } ?? .null,
                    "kind": .string(c.kind),
                    "spec": c.spec,
                    "problem": c.problem.map { .string($0) } ?? .null,
                    "ifProbeFindsEffect": .bool(c.ifProbeFindsEffect),
                ])
            }),
            "notCompensated": .array(notCompensated.map { .object(["step": .string($0.step), "reason": .string($0.reason)]) }),
            "probedFirst": .array(probedFirst.map { .string($0) }),
            "inFlight": .array(inFlight.map { .string($0) }),
            "waits": .array(waits.map {
                .object([
                    "step": .string($0.step), "attempt": .integer($0.attempt), "for": .string($0.waitsFor),
                    "until": .string(SagaTime.format($0.until)),
                ])
            }),
            "wouldNeedIntervention": .array(wouldNeedIntervention.map { .string($0) }),
            "forward": .array(forward.map { .array($0.map { .string($0) }) }),
            "ifStepFails": .array(ifStepFails.map {
                .object([
                    "step": .string($0.step),
                    "outcome": .string($0.outcome),
                    "compensations": .array($0.compensations.map { .string($0) }),
                    "alsoIfFinished": .array($0.alsoIfFinished.map { .string($0) }),
                ])
            }),
        ])
    }
}
