import Sagas
import SagasPostgres
import SagasTesting
import Testing

/// The store conformance suite, on PostgreSQL: each check on a store in a fresh schema.
@Suite(.enabled(if: PostgresTestDatabase.isConfigured, PostgresTestDatabase.skipMessage), .timeLimit(.minutes(2)))
struct PostgresStoreConformanceTests {
    @Test(arguments: SagaStoreConformance.checkNames)
    func conformance(check: String) async throws {
        try await PostgresTestDatabase.withStores { makeStore in
            try await SagaStoreConformance.check(check) { try await makeStore() }
        }
    }
}
