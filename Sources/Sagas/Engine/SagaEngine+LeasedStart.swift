import Foundation
import Logging

extension SagaEngine {
    /// `execute` on a store that creates leased sagas: the saga's creation and its first attempts share a write.
    /// Returns `nil` when the saga already existed (the caller then drives it as any other); otherwise the saga's
    /// id and, when the drive knows it exactly, the record it ended with.
    func executeLeased(
        _ definition: SagaDefinition,
        input: JSONValue,
        id: String?,
        baseDirectory: String?,
        traceparent: String? = nil
    ) async throws -> (id: String, final: SagaRecord?)? {
        let (record, started) = try prepareStart(
            definition, input: input, id: id, baseDirectory: baseDirectory, traceparent: traceparent
        )
        guard let end = try await driveToEnd(record, creating: started) else { return nil }
        logger.info("saga started", metadata: ["saga.id": "\(record.id)", "saga.workflow": "\(definition.reference)"])
        return (record.id, end.record)
    }
}
