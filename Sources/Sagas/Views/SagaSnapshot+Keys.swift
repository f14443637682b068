extension SagaSnapshot {
    /// The keys this saga waits for: those another saga holds.
    public var awaitedKeys: [SagaKeyHold] { keys.filter { !$0.isHeld } }

    /// Adds `exclusiveKeys` (every key, with its holder) and `waitsFor.keys` (those another saga holds) to the
    /// JSON of `saga show`, when the saga has keys; `waitsFor.limits` names the limits its attempts wait for.
    func addExclusiveKeys(to object: inout [String: JSONValue]) {
        var waitsFor: [String: JSONValue] = [:]
        if !limitWaits.isEmpty { waitsFor["limits"] = .array(limitWaits.map { .string($0) }) }
        defer { if !waitsFor.isEmpty { object["waitsFor"] = .object(waitsFor) } }
        guard !keys.isEmpty else { return }
        func json(_ hold: SagaKeyHold) -> JSONValue {
            .object(["key": .string(hold.key), "holder": .string(hold.holder), "ahead": .integer(hold.ahead)])
        }
        object["exclusiveKeys"] = .array(keys.map(json))
        let awaited = awaitedKeys
        if !awaited.isEmpty { waitsFor["keys"] = .array(awaited.map(json)) }
    }

    /// What `saga show` prints about the saga's keys: one line per key.
    public var keyLines: [String] {
        limitWaits.map { "waits for limit \($0)" } + keys.map { hold in
            if hold.isHeld { return "holds key \(hold.key)" }
            let queue = hold.ahead > 1 ? " (\(hold.ahead) sagas ahead)" : ""
            return "waits for key \(hold.key), held by saga \(hold.holder)\(queue)"
        }
    }
}
