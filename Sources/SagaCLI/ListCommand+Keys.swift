import Sagas

extension ListCommand {
    /// For `saga list --stuck`: a line for each listed pending saga that waits for an exclusive key, naming the
    /// saga that holds it (a pending saga that waits for a key is not stuck: it runs when the holder is terminal).
    static func keyWaits(_ records: [SagaRecord], store: any SagaStore) async throws -> [String] {
        guard let store = store as? any SagaStoreExclusiveKeys else { return [] }
        var lines: [String] = []
        for record in records where record.status == .pending {
            for hold in try await store.keys(of: record.id) where !hold.isHeld {
                lines.append("\(record.id) waits for key \(hold.key), held by saga \(hold.holder)")
            }
        }
        return lines
    }
}
