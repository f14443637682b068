public import Foundation
import Logging
import Synchronization

/// A store that can journal a new saga already leased to the worker that starts it: an optional capability.
///
/// `SagaEngine.execute` uses it to start a saga and journal its first attempts in one write, instead of a create,
/// a claim and an append (three commits, each a flush of the disk with `synchronous=FULL`).
public protocol SagaStoreCreatingLeased: SagaStore {
    /// Journals a new saga with `events` (its `saga.started` and the attempts it starts with), leased to `owner`
    /// until `leaseUntil`, with the summary `progress`; or, when a saga with that id exists, writes nothing and
    /// returns it, exactly as `create` does.
    ///
    /// - Throws: `.sagaConflict` when the id exists with another workflow, version or input; storage errors.
    func createLeased(_ saga: SagaRecord, events: [SagaEvent], owner: String, progress: SagaProgress, leaseUntil: Date)
        async throws -> SagaCreation
}

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
        try await withLeaseRenewal {
            if try await self.drive(record, creating: started) == nil { existed.set() }
        }
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
