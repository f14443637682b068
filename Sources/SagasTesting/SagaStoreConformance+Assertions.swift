import Foundation
import Sagas

// MARK: - Assertions

struct ConformanceViolation: Error {
    let message: String
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw ConformanceViolation(message: message()) }
}

func expectEqual<T: Equatable>(_ actual: T, _ expected: T, _ what: String) throws {
    if actual != expected { throw ConformanceViolation(message: "\(what): expected \(expected), got \(actual)") }
}

/// Runs `body` and checks that it throws a `SagaError` with `code`.
func expectError(
    _ code: SagaError.Code,
    _ what: String,
    _ body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch let error as SagaError {
        if error.code != code {
            throw ConformanceViolation(message: "\(what): expected error \(code), got \(error.code) (\(error.message))")
        }
        return
    } catch {
        throw ConformanceViolation(message: "\(what): expected SagaError \(code), got \(type(of: error)): \(error)")
    }
    throw ConformanceViolation(message: "\(what): expected error \(code), but it succeeded")
}

typealias F = SagaFixtures

func mustFind(_ store: any SagaStore, _ id: String) async throws -> SagaRecord {
    guard let record = try await store.saga(id: id) else { throw ConformanceViolation(message: "saga \(id) not found") }
    return record
}

/// Creates sagas `prefix-0`… one millisecond apart and returns their records.
@discardableResult
func createSagas(_ store: any SagaStore, count: Int, prefix: String = "s", workflow: String = "order")
    async throws -> [SagaRecord]
{
    var records: [SagaRecord] = []
    for i in 0..<count {
        let record = F.record(id: "\(prefix)-\(i)", workflow: workflow, createdAt: F.time(i))
        records.append(try await F.create(record, in: store))
    }
    return records
}
