import Foundation
import Sagas

/// The exclusive-key lines of `saga stats`: keys held now, and the most waited-for ones with their holders.
struct KeyStats {
    var holders: [(hold: SagaKeyHold, waiting: Int)]

    /// `nil` when the store keeps no exclusive keys or none is held.
    static func read(_ store: any SagaStore) async throws -> KeyStats? {
        guard let store = store as? any SagaStoreExclusiveKeys else { return nil }
        let holders = try await store.keyHolders(limit: 10)
        return holders.isEmpty ? nil : KeyStats(holders: holders)
    }

    var waitingSagas: Int { holders.reduce(0) { $0 + $1.waiting } }

    var json: JSONValue {
        .object([
            "heldKeys": .array(holders.map { entry in
                .object([
                    "key": .string(entry.hold.key), "holder": .string(entry.hold.holder),
                    "waiting": .integer(entry.waiting),
                ])
            }),
        ])
    }

    var lines: [String] {
        var lines = ["exclusive keys held (most waited-for first, at most 10):"]
        lines.append(Output.table(
            ["KEY", "HOLDER", "WAITING"],
            holders.map { [$0.hold.key, $0.hold.holder, String($0.waiting)] },
            colorColumn: nil
        ))
        return lines
    }
}
