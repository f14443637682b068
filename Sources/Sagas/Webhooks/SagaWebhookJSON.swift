// The JSON shapes of subscriptions and deliveries, as `saga webhooks … --json` prints them and `/v1/webhooks`
// returns them. Secrets are only ever shown masked (`whsec_…abcd`).
extension SagaWebhookSubscription {
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "url": .string(url),
            "secrets": .array(maskedSecrets.map { .string($0) }),
            "events": .array(eventTypes.map { .string($0.rawValue) }),
            "state": .string(state.rawValue),
            "position": .integer(Int(position)),
            "createdAt": .string(SagaTime.format(createdAt)),
        ]
        if let workflow { object["workflow"] = .string(workflow) }
        if let stateReason { object["stateReason"] = .string(stateReason) }
        if let failingSince { object["failingSince"] = .string(SagaTime.format(failingSince)) }
        if let lastSuccessAt { object["lastSuccessAt"] = .string(SagaTime.format(lastSuccessAt)) }
        return .object(object)
    }
}

extension SagaWebhookDelivery {
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "subscription": .string(subscriptionID),
            "sagaId": .string(sagaID),
            "seq": .integer(seq),
            "type": .string(type.rawValue),
            "state": .string(state.rawValue),
            "attempts": .integer(attempts),
            "nextAttemptAt": .string(SagaTime.format(nextAttemptAt)),
            "createdAt": .string(SagaTime.format(createdAt)),
        ]
        if let deliveredAt { object["deliveredAt"] = .string(SagaTime.format(deliveredAt)) }
        if let lastStatus { object["lastStatus"] = .integer(lastStatus) }
        if let lastError { object["lastError"] = .string(lastError) }
        return .object(object)
    }
}
