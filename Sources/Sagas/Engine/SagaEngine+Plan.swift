public import Foundation

extension SagaEngine {
    /// What would run if the saga were cancelled or failed now: the compensations in order with their templates
    /// resolved (secrets as `***`), the steps that would not be compensated and why, the steps whose probe would
    /// run first, and what would stop in `needs_intervention`. Reads the journal; runs and writes nothing.
    ///
    /// - Throws: `.sagaNotFound`; `.corruptJournal` when the journal does not replay (a parked saga).
    public func plan(sagaID: String) async throws -> SagaPlan {
        let snapshot = try await snapshot(sagaID: sagaID)
        guard let machine = snapshot.state else {
            throw SagaError(
                .corruptJournal,
                "saga \(sagaID): its journal does not replay, so what undo would do cannot be known; "
                    + "see `saga show \(sagaID)`",
                sagaID: sagaID
            )
        }
        var plan = machine.plan(environment: configuration.environment)
        plan.needs = SagaPlan.Needs(snapshot.record.exclusiveKeysOrEvaluated(machine.definition), machine.definition)
        return plan
    }

    /// The what-if plan of a workflow for `input`, without starting anything: the forward order and, for each
    /// step, the compensations its failure would start.
    ///
    /// - Throws: `.invalidInput` when the input does not match the workflow's schema.
    public func plan(_ definition: SagaDefinition, input: JSONValue) throws -> SagaPlan {
        if let schema = definition.input {
            let problems = schema.validate(input)
            if !problems.isEmpty {
                throw SagaError(
                    .invalidInput,
                    "input for workflow \(definition.reference) is invalid: " + problems.prefix(10).joined(separator: "; ")
                )
            }
        }
        var plan = definition.whatIfPlan()
        let keys = (try? SagaEngine.evaluateExclusiveKeys(of: definition, input: input, sagaID: "plan")) ?? []
        plan.needs = SagaPlan.Needs(keys, definition)
        return plan
    }
}
