import Foundation
import Sagas
import SagasPostgres
import SagasTesting
import Testing

private typealias F = SagaFixtures

/// Group commit (issue 16): concurrent appends of many sagas share statements, and a saga whose fence fails fails
/// alone.
@Suite(.enabled(if: PostgresTestDatabase.isConfigured, PostgresTestDatabase.skipMessage), .timeLimit(.minutes(2)))
struct PostgresGroupCommitTests {
    @Test func concurrentAppendsShareStatementsAndAStaleOwnerFailsAlone() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let nodeA = try await makeStore()
            let count = 60
            for i in 0..<count {
                try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: nodeA)
                _ = try await nodeA.claim(sagaID: "s-\(i)", owner: "a", now: F.time(0), leaseUntil: F.time(1_000))
            }
            // Every seventh saga passes to another node (A's lease lapsed): A's appends to those must be refused,
            // and only those.
            let stolen = Set(stride(from: 0, to: count, by: 7).map { "s-\($0)" })
            try await PostgresTestDatabase.otherNode(sharing: nodeA) { nodeB in
                for id in stolen.sorted() {
                    let again = try await nodeB.claim(sagaID: id, owner: "b", now: F.time(2_000), leaseUntil: F.time(9_000))
                    #expect(again?.owner == "b")
                }
            }
            let before = nodeA.appendStatistics()
            let outcomes = try await withThrowingTaskGroup(of: (String, SagaError.Code?).self) { group in
                for i in 0..<count {
                    group.addTask {
                        // Each saga appends three times in a row, as a drive does (one append after the other).
                        for round in 0..<3 {
                            do {
                                try await nodeA.append(
                                    F.stepEvents(from: 2 + 2 * round, count: 2), sagaID: "s-\(i)", owner: "a",
                                    progress: SagaProgress(status: round == 2 ? .completed : .running),
                                    leaseUntil: F.time(3_000)
                                )
                            } catch let error as SagaError {
                                return ("s-\(i)", error.code)
                            }
                        }
                        return ("s-\(i)", nil)
                    }
                }
                var outcomes: [String: SagaError.Code?] = [:]
                for try await (id, code) in group { outcomes[id] = code }
                return outcomes
            }
            for i in 0..<count {
                let id = "s-\(i)"
                if stolen.contains(id) {
                    #expect(outcomes[id] == .some(.leaseLost), "\(id)")
                    #expect(try await nodeA.events(sagaID: id).map(\.seq) == [1])
                } else {
                    #expect(outcomes[id] == .some(nil), "\(id)")
                    #expect(try await nodeA.events(sagaID: id).map(\.seq) == Array(1...7))
                    let record = try await nodeA.saga(id: id)
                    #expect(record?.status == .completed)
                    #expect(record?.owner == nil)
                }
            }
            let after = nodeA.appendStatistics()
            let written = (count - stolen.count) * 3
            #expect(after.appends - before.appends == written)
            // 60 callers at once: statements hold several appends each.
            #expect(after.commits - before.commits < written)
            #expect(after.largest > 1)
        }
    }

    @Test func groupCommitCanBeTurnedOffInTheURL() throws {
        let off = try PostgresStoreConfiguration(url: "postgres://u@h/db?group_commit=off&pool_size=32")
        #expect(off.groupCommit == false)
        #expect(off.maximumConnections == 32)
        #expect(try PostgresStoreConfiguration(url: "postgres://u@h/db").groupCommit)
        #expect(throws: SagaError.self) { try PostgresStoreConfiguration(url: "postgres://u@h/db?group_commit=maybe") }
        #expect(throws: SagaError.self) { try PostgresStoreConfiguration(url: "postgres://u@h/db?pool_size=0") }
    }
}
