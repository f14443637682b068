import Foundation
import Logging
import Sagas
import SagasPostgres
import Testing

/// The PostgreSQL server of the tests, if any.
private let postgresServerURL = ProcessInfo.processInfo.environment["SAGA_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// Webhooks on PostgreSQL (issue 19): the store contract and the delivery service in-process (the bodies of
/// `WebhookStoreTests`), then real workers on one database: two deliver each event once, and kill -9 during
/// delivery loses nothing. Skipped without `SAGA_POSTGRES_URL` (which `.ci/run` sets).
@Suite(
    .serialized,
    .enabled(
        if: postgresServerURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL webhook tests"
    ),
    .timeLimit(.minutes(10))
)
struct PostgresWebhookTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// A migrated store in a fresh schema, its client running until `cleanup`.
    static func makeStore(url: String? = nil) async throws -> (PostgresSagaStore, cleanup: () -> Void) {
        var configuration = try PostgresStoreConfiguration(url: try #require(url ?? postgresServerURL))
        if url == nil { configuration.schema = "wh_\(getpid())_\(UInt32.random(in: 0...UInt32.max))" }
        let store = try PostgresSagaStore(configuration: configuration, logger: logger)
        let running = Task { try? await store.run() }
        do {
            try await store.migrate()
        } catch {
            running.cancel()
            throw error
        }
        return (store, { running.cancel() })
    }

    static func makeStore() async throws -> (any SagaStoreWebhooks, cleanup: () -> Void) {
        let (store, cleanup) = try await makeStore(url: nil)
        return (store, cleanup)
    }

    @Test func queueClaimFinishFollowTheContract() async throws {
        try await WebhookStoreTests().queueClaimFinishFollowTheContract(.postgres)
    }

    @Test func theServiceDeliversEachSubscriptionItsEventsInOrder() async throws {
        try await WebhookStoreTests().theServiceDeliversEachSubscriptionItsEventsInOrder(.postgres)
    }

    /// `saga webhooks` on a `postgres://` database: add, list (secret masked), pause, resume, remove.
    @Test func webhooksCommandsWorkOnPostgres() throws {
        let box = try PostgresCLITests.sandbox()
        let secret = WebhookReceiver.makeSecret()
        let id = try WebhookCLITests.add(box, ["http://127.0.0.1:9/pg", "--secret", secret, "--events", "saga.completed"])
        let list = try box.run(["webhooks", "list", "--json"])
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.contains(id) && !list.stdout.contains(secret), "\(list)")
        #expect(try box.run(["webhooks", "pause", id]).status == 0)
        #expect(try box.run(["webhooks", "list", "--json"]).stdout.contains("paused"))
        #expect(try box.run(["webhooks", "resume", id]).status == 0)
        let deliveries = try box.run(["webhooks", "deliveries", "--failed", "--json"])
        #expect(deliveries.status == 0, "\(deliveries)")
        #expect(try box.run(["webhooks", "remove", id]).status == 0)
        let missing = try box.run(["webhooks", "remove", id])
        #expect(missing.status != 0 && missing.stderr.contains("no webhook subscription"), "\(missing)")
    }

    @Test func twoWorkersDeliverEachEventOnce() async throws {
        let box = try PostgresCLITests.sandbox()
        let (store, cleanup) = try await Self.makeStore(url: try #require(box.databaseURL))
        defer { cleanup() }
        try await WebhookTwoWorkerTests.deliverOnce(box, store: store, count: 100)
    }

    @Test func killedWorkersLoseNoEventAndInventNone() async throws {
        let box = try PostgresCLITests.sandbox()
        let (store, cleanup) = try await Self.makeStore(url: try #require(box.databaseURL))
        defer { cleanup() }
        try await WebhookKillTests.killAndCheck(box, store: store, count: 150, kills: 3)
    }
}
