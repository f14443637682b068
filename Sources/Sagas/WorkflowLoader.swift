public import Foundation

/// The result of loading one workflow file: the definition when it has no errors, and every problem found.
public struct WorkflowLoadResult: Sendable {
    /// `nil` when any diagnostic is an error.
    public var definition: SagaDefinition?
    public var diagnostics: [WorkflowDiagnostic]

    public init(definition: SagaDefinition?, diagnostics: [WorkflowDiagnostic]) {
        self.definition = definition
        self.diagnostics = diagnostics
    }

    public var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }
}

/// Loads and validates workflow files (format v1).
public enum WorkflowLoader {
    /// Files larger than this are refused before they are parsed.
    public static let maxFileSize = 1 << 20
    /// JSON nested deeper than this is refused.
    public static let maxDepth = 64
    /// Workflows with more steps than this are refused.
    public static let maxSteps = 1000

    /// Loads a workflow from JSON data. `file` names it in diagnostics.
    public static func load(data: Data, file: String) -> WorkflowLoadResult {
        fatalError("not implemented yet")
    }

    /// Loads a workflow from JSON text. `file` names it in diagnostics.
    public static func load(string: String, file: String = "<input>") -> WorkflowLoadResult {
        load(data: Data(string.utf8), file: file)
    }

    /// Loads a workflow file.
    public static func load(contentsOf path: String) -> WorkflowLoadResult {
        fatalError("not implemented yet")
    }

    /// Loads a workflow file and returns its definition.
    ///
    /// - Throws: `SagaError` `.invalidWorkflow` (with every diagnostic) when it has errors, `.workflowNotFound` when
    ///   the file does not exist.
    public static func definition(contentsOf path: String) throws(SagaError) -> SagaDefinition {
        fatalError("not implemented yet")
    }
}

extension SagaDefinition {
    /// The definition in workflow file format v1, with every default written out; loading it gives back an equal
    /// definition. Sagas journal this as the snapshot of the definition they started with.
    public var json: JSONValue {
        fatalError("not implemented yet")
    }
}
