import Foundation
import Sagas
import SagasSQLite
import SagasTesting

/// A fresh temporary folder for one test; removed when the test drops it.
final class TemporaryFolder: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sagas-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }

    /// The path of a file in the folder.
    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }
}

/// Runs `body` and returns the `SagaError` it throws, or `nil` (and the caller fails) when it throws none.
func sagaError(_ body: () async throws -> Void) async -> SagaError? {
    do {
        try await body()
        return nil
    } catch let error as SagaError {
        return error
    } catch {
        return SagaError(.storageFailure, "not a SagaError: \(type(of: error)): \(error)")
    }
}

/// The bytes of a file (or empty when it cannot be read).
func bytes(_ path: String) -> Data {
    FileManager.default.contents(atPath: path) ?? Data()
}

typealias F = SagaFixtures
