extension SagaSnapshot {
    /// The keys this saga waits for: those another saga holds.
    public var awaitedKeys: [SagaKeyHold] { keys.filter { !$0.isHeld } }

    /// What `saga show` prints about the saga's keys: one line per key.
    public var keyLines: [String] {
        limitWaits.map { "waits for limit \($0)" } + keys.map { hold in
            if hold.isHeld { return "holds key \(hold.key)" }
            let queue = hold.ahead > 1 ? " (\(hold.ahead) sagas ahead)" : ""
            return "waits for key \(hold.key), held by saga \(hold.holder)\(queue)"
        }
    }
}
