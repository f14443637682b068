public import Foundation
import Logging
import Synchronization

extension SagaEngine {
    /// `execute` on a store that creates leased sagas: the saga's creation and its first attempts share a write.
    /// Returns `nil` when the saga already existed (the caller then drives it as any other).
    func executeLeased(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String?,
        baseDirectory: String?
    ) async throws -> SagaRecord? {
        let (record, started) = try prepareStart(definition, input: input, id: id, baseDirectory: baseDirectory)
        let existed = ExistedFlag()
        if try await drive(record, creating: started) == nil { existed.set() }
        guard !existed.value else { return nil }
        logger.info("saga started", metadata: ["saga.id": "\(record.id)", "saga.workflow": "\(definition.reference)"])
        return record
    }
}

/// Set by the drive when the saga it was to create already existed.
private final class ExistedFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var value: Bool { flag.load(ordering: .relaxed) }
}
