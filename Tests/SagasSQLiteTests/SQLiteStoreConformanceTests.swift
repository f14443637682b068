import Sagas
import SagasSQLite
import SagasTesting
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2)))
struct SQLiteStoreConformanceTests {
    @Test(arguments: SagaStoreConformance.checkNames)
    func conformance(check: String) async throws {
        let folder = try TemporaryFolder()
        try await SagaStoreConformance.check(check) { try SQLiteSagaStore(path: folder.path("saga.db")) }
    }

    @Test func conformanceWithSynchronousNormal() async throws {
        let folder = try TemporaryFolder()
        let counter = Counter()
        try await SagaStoreConformance.check {
            try SQLiteSagaStore(
                path: folder.path("saga-\(counter.next()).db"),
                configuration: .init(synchronous: .normal)
            )
        }
    }
}

/// Numbers for fresh file names.
final class Counter: Sendable {
    private let value = Mutex(0)
    func next() -> Int { value.withLock { $0 += 1; return $0 } }
}
