extension MemorySagaStore: SagaStoreExclusiveKeys {
    public func keys(of sagaID: String) -> [SagaKeyHold] {
        exclusiveKeys.holds(of: sagaID)
    }

    public func keyHolders(limit: Int) -> [(hold: SagaKeyHold, waiting: Int)] {
        exclusiveKeys.holders(limit: limit)
    }
}
