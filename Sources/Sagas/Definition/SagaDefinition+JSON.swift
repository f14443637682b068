// Encodes a definition back to workflow format v1.

extension SagaDefinition {
    /// The definition in workflow file format v1, with every default written out; loading it gives back an equal
    /// definition. Sagas journal this as the snapshot of the definition they started with.
    ///
    /// Durations are written in whole milliseconds (or a larger unit when exact). Step descriptions and `$schema`
    /// are not part of a definition, so they are not written.
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name),
            "version": .integer(version),
            "defaults": .object([
                "retry": defaults.retry.json,
                "compensationRetry": defaults.compensationRetry.json,
                "timeout": .string(SagaDuration.exact(defaults.timeout)),
            ]),
            "steps": .array(steps.map(\.json)),
        ]
        if let description { object["description"] = .string(description) }
        if let input { object["input"] = input.json }
        if let reconciliation { object["reconciliation"] = reconciliation.json }
        if let key { object["key"] = .string(key) }
        if !limits.isEmpty { object["limits"] = .object(limits.mapValues(\.json)) }
        if !exclusive.isEmpty { object["exclusive"] = .array(exclusive.map { .string($0) }) }
        return .object(object)
    }
}

extension ReconciliationSettings {
    /// The settings as a workflow file writes them: only the fields that are set.
    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if let retryInterval { object["retryInterval"] = .string(SagaDuration.exact(retryInterval)) }
        if let maxAutomaticRetries { object["maxAutomaticRetries"] = .integer(maxAutomaticRetries) }
        return .object(object)
    }
}

extension SagaStep {
    /// The step as a workflow file writes it, every default written out.
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "name": .string(name),
            "action": action.json,
            "retry": retry.json,
            "compensationRetry": compensationRetry.json,
            "timeout": .string(SagaDuration.exact(timeout)),
            "after": .array(after.map { .string($0) }),
            "kind": .string(kind.rawValue),
        ]
        if let compensation { object["compensation"] = compensation.json }
        if let probe { object["probe"] = probe.json }
        if let limit { object["limit"] = .string(limit) }
        if let awaits { object["await"] = awaits.json }
        return .object(object)
    }
}

extension RetryPolicy {
    /// The policy as a workflow file writes it, every field written out.
    var json: JSONValue {
        let coefficient: JSONValue =
            JSONValue.exactInteger(backoffCoefficient).map(JSONValue.integer) ?? .number(backoffCoefficient)
        return .object([
            "maxAttempts": .integer(maxAttempts),
            "initialInterval": .string(SagaDuration.exact(initialInterval)),
            "maxInterval": .string(SagaDuration.exact(maxInterval)),
            "backoffCoefficient": coefficient,
            "jitter": .string(jitter.rawValue),
        ])
    }
}

extension InputSchema {
    /// The schema as a workflow file writes it.
    var json: JSONValue {
        var object: [String: JSONValue] = [:]
        if types.count == 1, let type = types.first {
            object["type"] = .string(type)
        } else if !types.isEmpty {
            object["type"] = .array(types.map { .string($0) })
        }
        if !required.isEmpty { object["required"] = .array(required.map { .string($0) }) }
        if !properties.isEmpty { object["properties"] = .object(properties.mapValues(\.json)) }
        if let items { object["items"] = items.json }
        if let allowedValues { object["enum"] = .array(allowedValues) }
        return .object(object)
    }
}

extension SagaDuration {
    /// The duration in the largest unit that writes it exactly: `1h`, `2m`, `5s`, `250ms`.
    static func exact(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms != 0 {
            if ms % 3_600_000 == 0 { return "\(ms / 3_600_000)h" }
            if ms % 60_000 == 0 { return "\(ms / 60_000)m" }
            if ms % 1000 == 0 { return "\(ms / 1000)s" }
        }
        return "\(ms)ms"
    }
}
