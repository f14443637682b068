public import Foundation

extension SagaEngine {
    /// Journals a saga of the workflow in a file (or returns the existing saga with that id). Its commands run in
    /// the file's folder. The file may use the engine's ``actionKinds``.
    ///
    /// - Throws: `.workflowNotFound`, `.invalidWorkflow` (with diagnostics), and whatever
    ///   ``start(_:input:id:baseDirectory:)`` throws.
    @discardableResult
    public func start(
        workflowFile path: String,
        input: JSONValue,
        id: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        let definition = try WorkflowLoader.definition(contentsOf: path, kinds: actionKinds)
        return try await start(
            definition, input: input, id: id, baseDirectory: SagaEngine.folder(of: path), traceparent: traceparent
        )
    }

    /// Journals a saga of a workflow named in a folder of workflow files: `NAME` (its highest version),
    /// `NAME@VERSION`, or a path (or returns the existing saga with that id).
    ///
    /// - Throws: `.workflowNotFound` (listing what the folder has), `.invalidWorkflow`, and whatever
    ///   ``start(_:input:id:baseDirectory:)`` throws.
    @discardableResult
    public func start(
        workflow reference: String,
        in catalog: WorkflowCatalog,
        input: JSONValue,
        id: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        let (definition, path) = try catalog.resolve(reference)
        return try await start(
            definition, input: input, id: id, baseDirectory: SagaEngine.folder(of: path), traceparent: traceparent
        )
    }

    /// Starts a saga of a workflow named in a folder (as ``start(workflow:in:input:id:traceparent:)``) and drives
    /// it in this task until it is terminal or needs intervention. On a store that creates leased sagas, the saga
    /// is started, leased and its first attempts journaled in one write.
    public func execute(
        workflow reference: String,
        in catalog: WorkflowCatalog,
        input: JSONValue,
        id: String? = nil,
        traceparent: String? = nil
    ) async throws -> SagaRecord {
        let (definition, path) = try catalog.resolve(reference)
        return try await execute(
            definition, input: input, id: id, baseDirectory: SagaEngine.folder(of: path), traceparent: traceparent
        )
    }

    static func folder(of path: String) -> String {
        URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
    }
}
