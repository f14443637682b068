extension SagaEngine {
    /// Evaluates a workflow's `exclusive` templates over a saga's input (as the business key is evaluated: a
    /// string value as it is, any other value as its JSON text), without duplicates, in the workflow's order.
    ///
    /// - Throws: `.invalidInput` when a template names a value the input lacks or a key is empty or too long;
    ///   `.invalidArgument` when the store keeps no exclusive keys (``SagaStoreExclusiveKeys``).
    func exclusiveKeys(of definition: SagaDefinition, input: JSONValue, sagaID: String) throws(SagaError) -> [String] {
        guard !definition.exclusive.isEmpty else { return [] }
        guard store is any SagaStoreExclusiveKeys else {
            throw SagaError(
                .invalidArgument,
                "workflow \(definition.reference) declares exclusive keys, which this store does not keep; "
                    + "nothing was journaled",
                sagaID: sagaID
            )
        }
        return try Self.evaluateExclusiveKeys(of: definition, input: input, sagaID: sagaID)
    }

    /// `exclusiveKeys(of:input:sagaID:)` without asking whether the store keeps them (`saga plan`).
    static func evaluateExclusiveKeys(
        of definition: SagaDefinition, input: JSONValue, sagaID: String
    ) throws(SagaError) -> [String] {
        var keys: [String] = []
        for template in definition.exclusive {
            let key = try businessKey(template, of: definition, input: input, sagaID: sagaID, name: "exclusive key")
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }
}

extension SagaEngine {
    /// A saga's exclusive keys with their holders, for `saga show`: asked of the store only when the saga is not
    /// terminal and its workflow declares exclusive keys (so other sagas cost nothing).
    func exclusiveKeyHolds(of record: SagaRecord) async throws -> [SagaKeyHold] {
        guard !record.status.isTerminal, record.damage == nil, let store = store as? any SagaStoreExclusiveKeys,
            let definition = try? definition(of: record), !definition.exclusive.isEmpty
        else { return [] }
        return try await store.keys(of: record.id)
    }
}

extension SagaEngine {
    /// `executeLeased`, or `nil` (nothing written: the caller starts the saga pending) when an earlier saga holds one
    /// of its exclusive keys.
    func executeLeasedUnlessKeyBusy(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String?,
        baseDirectory: String?,
        traceparent: String?
    ) async throws -> (id: String, final: SagaRecord?)? {
        do {
            return try await executeLeased(
                definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
            )
        } catch let error as SagaError where error.code == .keyBusy && !definition.exclusive.isEmpty {
            return nil
        }
    }
}
