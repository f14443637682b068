import Foundation
import PostgresNIO
import Sagas
import SagasPostgres
import SagasTesting
import Synchronization
import Testing

private typealias F = SagaFixtures

/// The journal as outbox on PostgreSQL: commit order is not the order in which transactions wrote, so the feed
/// must never hand out a position that a transaction still in flight could come in below.
@Suite(.enabled(if: PostgresTestDatabase.isConfigured, PostgresTestDatabase.skipMessage), .timeLimit(.minutes(2)))
struct PostgresWebhookFeedTests {
    @Test func anEventCommittedLateIsNotSkipped() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let store = try await makeStore()
            let subscription = try await SagaWebhooks(store: store).add(
                url: "http://127.0.0.1:9/late", secrets: ["whsec_" + Data(repeating: 7, count: 32).base64EncodedString()]
            )
            try await F.create(F.record(id: "early"), in: store)
            let start = subscription.position
            let events = "\(store.configuration.schema).saga_events"
            let seenDuring = Mutex<([String], Int64)>(([], 0))
            // A transaction writes a lifecycle event of saga `early` first and commits last.
            try await store.client.withTransaction(logger: PostgresTestDatabase.logger) { connection in
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO \(events) (saga_id, seq, at, type, step, payload) "
                            + "VALUES ('early', 2, 0, 'saga.completed', NULL, '{}')"
                    ),
                    logger: PostgresTestDatabase.logger
                )
                // Meanwhile another saga starts and commits, and a reader reads the feed.
                try await F.create(F.record(id: "late"), in: store)
                let during = try await store.webhookFeed(after: start, limit: 100)
                // The event still in flight is not handed out; the one committed since is.
                #expect(!during.entries.contains { $0.sagaID == "early" && $0.event.seq == 2 })
                #expect(during.entries.contains { $0.sagaID == "late" }, "\(during.entries.map(\.sagaID))")
                seenDuring.withLock { $0 = (during.entries.map { "\($0.sagaID) \($0.event.seq)" }, during.end) }
            }
            // After the commit, reading on from where the first read stopped finds the late event: none skipped.
            var (seen, position) = seenDuring.withLock { $0 }
            for _ in 0..<3 {
                let page = try await store.webhookFeed(after: position, limit: 100)
                seen += page.entries.map { "\($0.sagaID) \($0.event.seq)" }
                position = page.end
            }
            #expect(seen == ["early 1", "late 1", "early 2"], "positions follow the commit order: \(seen)")
        }
    }

    @Test func purgeKeepsSagasWhoseEventsAreNotQueued() async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            let store = try await makeStore()
            _ = try await SagaWebhooks(store: store).add(
                url: "http://127.0.0.1:9/keep", secrets: ["whsec_" + Data(repeating: 9, count: 32).base64EncodedString()]
            )
            try await F.create(F.record(id: "done"), in: store)
            _ = try await store.claim(sagaID: "done", owner: "w", now: Date(), leaseUntil: Date().addingTimeInterval(60))
            try await store.append(
                [SagaEvent(seq: 2, at: Date(), type: .sagaCompleted)], sagaID: "done", owner: "w",
                progress: SagaProgress(status: .completed), leaseUntil: Date().addingTimeInterval(60)
            )
            let later = Date().addingTimeInterval(3600)
            #expect(try await store.purge(finishedBefore: later, limit: 10, dryRun: false) == 0)
            // Once the subscription is gone, nothing holds the saga back.
            for subscription in try await store.webhookSubscriptions() {
                try await store.removeWebhookSubscription(id: subscription.id)
            }
            #expect(try await store.purge(finishedBefore: later, limit: 10, dryRun: false) == 1)
        }
    }
}
