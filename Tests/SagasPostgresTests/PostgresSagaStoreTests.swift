import Foundation
import PostgresNIO
import Sagas
import SagasPostgres
import SagasTesting
import Synchronization
import Testing

private typealias F = SagaFixtures

/// What only a store that several nodes share must do: fencing, claims that never overlap, a schema it refuses.
@Suite(.enabled(if: PostgresTestDatabase.isConfigured, PostgresTestDatabase.skipMessage), .timeLimit(.minutes(2)))
struct PostgresSagaStoreTests {
    @Test func staleOwnerCannotAppendAfterTakeOverByAnotherNode() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let nodeA = try await makeStore()
            try await F.create(F.record(id: "s-1"), in: nodeA)
            let claimed = try await nodeA.claim(sagaID: "s-1", owner: "a", now: F.time(0), leaseUntil: F.time(1_000))
            #expect(claimed?.owner == "a")
            try await PostgresTestDatabase.otherNode(sharing: nodeA) { nodeB in
                // A's lease expires (a long pause, a partition); B claims the saga.
                let taken = try await nodeB.claimNext(owner: "b", now: F.time(2_000), leaseUntil: F.time(9_000), limit: 5)
                #expect(taken.map(\.id) == ["s-1"])
                let error = await #expect(throws: SagaError.self) {
                    try await nodeA.append(
                        F.stepEvents(from: 2, count: 1), sagaID: "s-1", owner: "a",
                        progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(3_000)
                    )
                }
                #expect(error?.code == .leaseLost)
                try await nodeB.append(
                    F.stepEvents(from: 2, count: 2), sagaID: "s-1", owner: "b",
                    progress: SagaProgress(status: .running, currentStep: "charge"), leaseUntil: F.time(9_000)
                )
            }
            #expect(try await nodeA.events(sagaID: "s-1").map(\.seq) == [1, 2, 3])
        }
    }

    @Test func staleOwnerWithTheSameWorkerIDIsFencedByTheEpoch() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let nodeA = try await makeStore()
            try await F.create(F.record(id: "s-1"), in: nodeA)
            _ = try await nodeA.claim(sagaID: "s-1", owner: "w", now: F.time(0), leaseUntil: F.time(1_000))
            try await PostgresTestDatabase.otherNode(sharing: nodeA) { nodeB in
                // A node restarted under the same worker id claims the saga after the lease expired: only the
                // epoch tells the two apart.
                let again = try await nodeB.claim(sagaID: "s-1", owner: "w", now: F.time(2_000), leaseUntil: F.time(9_000))
                #expect(again?.owner == "w")
                let error = await #expect(throws: SagaError.self) {
                    try await nodeA.append(
                        F.stepEvents(from: 2, count: 1), sagaID: "s-1", owner: "w",
                        progress: SagaProgress(status: .running), leaseUntil: F.time(3_000)
                    )
                }
                #expect(error?.code == .leaseLost)
                let takenOver = try await nodeA.takeOver(sagaID: "s-1", from: "w", owner: "a2", leaseUntil: F.time(9_000))
                #expect(takenOver)
                // After a take-over, B (the former holder) is fenced too.
                let refused = await #expect(throws: SagaError.self) {
                    try await nodeB.append(
                        F.stepEvents(from: 2, count: 1), sagaID: "s-1", owner: "w",
                        progress: SagaProgress(status: .running), leaseUntil: F.time(9_500)
                    )
                }
                #expect(refused?.code == .leaseLost)
            }
            #expect(try await nodeA.events(sagaID: "s-1").map(\.seq) == [1])
        }
    }

    @Test func concurrentClaimersNeverGetTheSameSaga() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let store = try await makeStore()
            let count = 300
            for i in 0..<count {
                try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: store)
            }
            try await PostgresTestDatabase.otherNode(sharing: store) { other in
                let claims = try await withThrowingTaskGroup(of: [String].self) { group in
                    for (n, node) in [store, other, store, other].enumerated() {
                        group.addTask {
                            var mine: [String] = []
                            while true {
                                let batch = try await node.claimNext(
                                    owner: "w\(n)", now: F.time(0), leaseUntil: F.time(60_000), limit: 7
                                )
                                if batch.isEmpty { return mine }
                                mine += batch.map(\.id)
                            }
                        }
                    }
                    var all: [[String]] = []
                    for try await ids in group { all.append(ids) }
                    return all
                }
                let flat = claims.flatMap { $0 }
                #expect(flat.count == count, "every saga claimed exactly once")
                #expect(Set(flat).count == count, "no saga claimed twice")
                #expect(claims.filter { !$0.isEmpty }.count >= 2, "the claimers shared the work")
            }
        }
    }

    @Test func newerSchemaIsRefusedAndLeftUnmodified() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let store = try await makeStore()
            try await F.create(F.record(id: "s-1"), in: store)
            let schema = store.configuration.schema
            try await store.client.query(
                PostgresQuery(unsafeSQL: "INSERT INTO \(schema).saga_migrations (name) VALUES ('9999-from-the-future')")
            )
            let before = try await store.appliedMigrations()
            let error = await #expect(throws: SagaError.self) {
                try await PostgresSagaStore.withStore(
                    configuration: store.configuration, logger: PostgresTestDatabase.logger
                ) { _ in Issue.record("a store opened a database with a newer schema") }
            }
            #expect(error?.code == .schemaTooNew)
            #expect(error?.message.contains("9999-from-the-future") == true)
            let readOnly = await #expect(throws: SagaError.self) { try await store.checkSchema() }
            #expect(readOnly?.code == .schemaTooNew)
            #expect(try await store.appliedMigrations() == before)
            #expect(try await store.saga(id: "s-1") != nil)
        }
    }

    @Test func migrateTwiceIsANoOpAndReadOnlyCheckPasses() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let store = try await makeStore()
            try await store.migrate()
            try await store.checkSchema()
            #expect(try await store.appliedMigrations() == PostgresSagaStore.migrationNames)
        }
    }

    @Test func wrongPasswordIsRefusedWithoutPrintingIt() async throws {
        var configuration = try PostgresTestDatabase.configuration()
        let secret = "Wr0ng-pa55word-\(UInt32.random(in: 0...UInt32.max))"
        configuration.password = secret
        let error = await #expect(throws: SagaError.self) {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: PostgresTestDatabase.logger) { _ in }
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains(secret) == false)
        #expect(error?.message.contains(configuration.database) == true)
        #expect("\(configuration)".contains(secret) == false)
    }

    @Test func refusedConnectionIsUnavailable() async throws {
        var configuration = try PostgresTestDatabase.configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 1  // nothing listens there
        let error = await #expect(throws: SagaError.self) {
            try await PostgresSagaStore.withStore(configuration: configuration, logger: PostgresTestDatabase.logger) { _ in }
        }
        #expect(error?.code == .databaseUnavailable)
    }

    @Test func renewalIsOneNodeHeartbeatAndADeadNodesSagasAreTakenOver() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let nodeA = try await makeStore()
            let count = 50
            for i in 0..<count {
                try await F.create(F.record(id: "s-\(i)", createdAt: F.time(i)), in: nodeA)
            }
            let claimed = try await nodeA.claimNext(owner: "a", now: F.time(0), leaseUntil: F.time(1_000), limit: count)
            #expect(claimed.count == count)
            let ids = claimed.map(\.id)
            let renewed = try await nodeA.renewLeases(sagaIDs: ids, owner: "a", leaseUntil: F.time(10_000))
            #expect(renewed.map(\.id) == ids)
            #expect(renewed.allSatisfy { $0.leaseExpiresAt == F.time(10_000) }, "the effective lease is the node's")
            #expect(try await nodeA.saga(id: "s-0")?.leaseExpiresAt == F.time(10_000))
            // No saga row was written: their own leases still end at 1 000; one node row was.
            let schema = nodeA.configuration.schema
            let own = try await nodeA.client.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).sagas WHERE lease_expires_at = \(SagaTime.milliseconds(F.time(1_000)))")
            ).collect()
            #expect(try own.first?.decode(Int64.self) == Int64(count))
            let nodes = try await nodeA.client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(schema).saga_nodes")).collect()
            #expect(try nodes.first?.decode(Int64.self) == 1)

            try await PostgresTestDatabase.otherNode(sharing: nodeA) { nodeB in
                // A is alive until 10 000: past its sagas' own leases, B takes none of them.
                #expect(try await nodeB.claimNext(owner: "b", now: F.time(5_000), leaseUntil: F.time(20_000), limit: 10).isEmpty)
                #expect(try await nodeB.claim(sagaID: "s-0", owner: "b", now: F.time(5_000), leaseUntil: F.time(20_000)) == nil)
                // A stops heartbeating: at 10 000 its sagas pass to B.
                let taken = try await nodeB.claimNext(owner: "b", now: F.time(10_000), leaseUntil: F.time(20_000), limit: 10)
                #expect(taken.map(\.id) == Array(ids.prefix(10)))
                let error = await #expect(throws: SagaError.self) {
                    try await nodeA.append(
                        F.stepEvents(from: 2, count: 1), sagaID: "s-0", owner: "a",
                        progress: SagaProgress(status: .running), leaseUntil: F.time(30_000)
                    )
                }
                #expect(error?.code == .leaseLost)
                // A node that retires ends its liveness at once: its sagas' own leases count again.
                _ = try await nodeA.renewLeases(sagaIDs: Array(ids.suffix(5)), owner: "a", leaseUntil: F.time(50_000))
                #expect(try await nodeB.claim(sagaID: "s-49", owner: "b", now: F.time(11_000), leaseUntil: F.time(20_000)) == nil)
                try await nodeA.retireNode("a")
                #expect(try await nodeB.claim(sagaID: "s-49", owner: "b", now: F.time(11_000), leaseUntil: F.time(20_000))?.owner == "b")
            }
        }
    }

    @Test func sslmodeRequireConnectsWithTLS() async throws {
        let plain = try PostgresTestDatabase.configuration()
        let serverHasTLS = try await PostgresTestDatabase.withRunningStore(plain) { store in
            try await store.client.query("SHOW ssl").collect().first?.decode(String.self) == "on"
        }
        // scripts/pg-local.sh turns TLS on when openssl exists (as in CI); another server may not have it.
        guard serverHasTLS else { return }
        var url = try #require(PostgresTestDatabase.url)
        url += (url.contains("?") ? "&" : "?") + "sslmode=require"
        let configuration = try PostgresStoreConfiguration(url: url)
        #expect(configuration.tls == .require)
        let encrypted = try await PostgresTestDatabase.withRunningStore(configuration) { store in
            try await store.client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").collect()
                .first?.decode(Bool.self) ?? false
        }
        #expect(encrypted, "the connection of a store with sslmode=require is not encrypted")
    }
}
