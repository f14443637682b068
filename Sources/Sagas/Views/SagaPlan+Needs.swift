extension SagaPlan {
    /// What a saga needs besides its steps (`saga plan`): the named limits its steps use and its exclusive keys.
    public struct Needs: Sendable, Hashable {
        /// One named limit a step uses.
        public struct LimitUse: Sendable, Hashable {
            public var step: String
            public var name: String
            public var limit: SagaLimit
        }

        /// In step order.
        public var limits: [LimitUse] = []
        /// Evaluated over the saga's input.
        public var exclusiveKeys: [String] = []

        public init() {}

        init(_ keys: [String], _ definition: SagaDefinition) {
            exclusiveKeys = keys
            limits = definition.steps.compactMap { step in
                guard let name = step.limit, let limit = definition.limits[name] else { return nil }
                return LimitUse(step: step.name, name: name, limit: limit)
            }
        }

        var json: JSONValue {
            .object([
                "limits": .array(limits.map { use in
                    .object(["step": .string(use.step), "limit": .string(use.name), "allows": use.limit.json])
                }),
                "exclusiveKeys": .array(exclusiveKeys.map { .string($0) }),
            ])
        }

        /// The lines `saga plan` prints; empty when the saga needs nothing.
        public var lines: [String] {
            var lines: [String] = []
            if !exclusiveKeys.isEmpty {
                lines.append("exclusive keys (one saga per key at a time): " + exclusiveKeys.joined(separator: ", "))
            }
            for use in limits {
                lines.append("step \(use.step) uses limit \(use.name) (\(use.limit.summary))")
            }
            return lines
        }
    }
}

extension SagaRecord {
    /// The record's exclusive keys, or (for a record read back from a store, which leaves them out) the
    /// workflow's templates evaluated over its input again: the same keys, as evaluation is deterministic.
    func exclusiveKeysOrEvaluated(_ definition: SagaDefinition) -> [String] {
        if !exclusiveKeys.isEmpty { return exclusiveKeys }
        return (try? SagaEngine.evaluateExclusiveKeys(of: definition, input: input, sagaID: id)) ?? []
    }
}
