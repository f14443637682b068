import Foundation
import Sagas
import SagasPostgres
import SagasTesting
import Testing

/// Limits and exclusive keys across three nodes (three stores, each with a client of its own) on one schema.
@Suite(.enabled(if: PostgresTestDatabase.isConfigured, PostgresTestDatabase.skipMessage), .timeLimit(.minutes(2)))
struct PostgresLimitNodeTests {
    /// Runs `body` with three nodes on one fresh schema.
    static func withThreeNodes(
        _ body: @Sendable @escaping ([PostgresSagaStore]) async throws -> Void
    ) async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let a = try await makeStore()
            try await PostgresTestDatabase.otherNode(sharing: a) { b in
                try await PostgresTestDatabase.otherNode(sharing: a) { c in
                    try await body([a, b, c])
                }
            }
        }
    }

    @Test func concurrentAcquiresFromThreeNodesNeverOverGrant() async throws {
        try await Self.withThreeNodes { nodes in
            let ids = (0..<30).map { "n-\($0)" }
            for (i, id) in ids.enumerated() {
                _ = try await nodes[0].create(
                    SagaFixtures.record(id: id, createdAt: SagaFixtures.time(i)), events: [])
                let node = nodes[i % 3]
                let claimed = try await node.claim(
                    sagaID: id, owner: "node-\(i % 3)", now: Date(), leaseUntil: Date().addingTimeInterval(60))
                #expect(claimed != nil)
            }
            let limit = SagaLimit(concurrency: 4)
            // Three rounds of 30 acquires at once, nothing released: 4 granted in the first, none after.
            for round in 0..<3 {
                let granted = try await withThrowingTaskGroup(of: String?.self) { group in
                    for (i, id) in ids.enumerated() {
                        group.addTask {
                            let request = SagaLimitRequest(
                                name: "payments", limit: limit, sagaID: id, holder: "call/action", owner: "node-\(i % 3)")
                            return try await nodes[i % 3].acquire(request, now: Date()) ? id : nil
                        }
                    }
                    var granted: [String] = []
                    for try await id in group { if let id { granted.append(id) } }
                    return granted
                }
                let usage = try await nodes[1].limitUsage(now: Date())
                #expect(usage.first?.inFlight == 4, "round \(round): \(usage)")
                #expect(granted.count == (round == 0 ? 4 : 0), "round \(round): granted \(granted)")
            }
        }
    }

    @Test func creatorsOnThreeNodesInOppositeKeyOrdersQueueOnce() async throws {
        try await Self.withThreeNodes { nodes in
            let count = 30
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    group.addTask {
                        var record = SagaFixtures.record(
                            id: "ab-\(i)", input: ["n": .integer(i)], createdAt: SagaFixtures.time(i))
                        record.exclusiveKeys = [["A", "B"], ["B", "A"], ["B", "C", "A"]][i % 3]
                        _ = try await nodes[i % 3].create(record, events: [SagaFixtures.started(record)])
                    }
                }
                try await group.waitForAll()
            }
            var order: [String] = []
            while order.count < count {
                var batch: [SagaRecord] = []
                for (n, node) in nodes.enumerated() {
                    batch += try await node.claimNext(
                        owner: "node-\(n)", now: Date(), leaseUntil: Date().addingTimeInterval(60), limit: 5)
                }
                #expect(batch.count == 1, "after \(order.count): \(batch.map(\.id))")
                guard let saga = batch.first else { return }
                let owner = saga.owner ?? ""
                let node = nodes[Int(owner.dropFirst("node-".count)) ?? 0]
                try await node.append(
                    [SagaEvent(seq: saga.lastSeq + 1, at: Date(), type: .sagaCompleted)],
                    sagaID: saga.id, owner: owner, progress: SagaProgress(status: .completed),
                    leaseUntil: Date().addingTimeInterval(60))
                order.append(saga.id)
            }
            #expect(Set(order).count == count)
            #expect(try await nodes[2].keyHolders(limit: 10).isEmpty)
        }
    }
}
