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

    /// More diagnostics than this are cut, with a last error saying so.
    public static let maxDiagnostics = 200

    /// Loads a workflow from JSON data. `file` names it in diagnostics.
    ///
    /// Never crashes on malformed input: every problem comes back as a diagnostic with its line and column.
    ///
    /// - Parameter kinds: the action kinds the workflow may use (``SagaActionKinds``); an action of another kind is
    ///   an error at its key. The core's (`handler` and the timers) by default.
    public static func load(data: Data, file: String, kinds: SagaActionKinds = .core) -> WorkflowLoadResult {
        analyze(data: data, file: file, kinds: kinds).result
    }

    /// Loads a workflow from JSON text. `file` names it in diagnostics.
    public static func load(string: String, file: String = "<input>", kinds: SagaActionKinds = .core)
        -> WorkflowLoadResult
    {
        load(data: Data(string.utf8), file: file, kinds: kinds)
    }

    /// Loads a workflow file.
    ///
    /// A file that does not exist or cannot be read gives one error diagnostic at line 1, column 1.
    public static func load(contentsOf path: String, kinds: SagaActionKinds = .core) -> WorkflowLoadResult {
        analyze(contentsOf: path, kinds: kinds).result
    }

    /// Loads a workflow file and returns its definition.
    ///
    /// - Throws: `SagaError` `.invalidWorkflow` (with every diagnostic) when it has errors, `.workflowNotFound` when
    ///   the file does not exist.
    public static func definition(contentsOf path: String, kinds: SagaActionKinds = .core) throws(SagaError)
        -> SagaDefinition
    {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw SagaError(.workflowNotFound, "no workflow file at \(path)", file: path)
        }
        let result = load(contentsOf: path, kinds: kinds)
        return try definition(of: result, path: path)
    }

    /// The definition of a loaded file, or the error `load(contentsOf:)` would report (`.invalidWorkflow`, with
    /// every diagnostic and the file, line and column of the first).
    public static func definition(of result: WorkflowLoadResult, path: String) throws(SagaError) -> SagaDefinition {
        guard let definition = result.definition else {
            let errors = result.diagnostics.filter { $0.severity == .error }
            let first = errors.first.map { ": \($0)" } ?? ""
            let more = errors.count > 1 ? " (and \(errors.count - 1) more)" : ""
            throw SagaError(
                .invalidWorkflow, "invalid workflow \(path)\(first)\(more)", file: path,
                diagnostics: result.diagnostics)
        }
        return definition
    }

    // MARK: Internals shared with the catalog and `saga validate`

    struct Analysis {
        var result: WorkflowLoadResult
        var header: WorkflowHeader?
    }

    static func analyze(contentsOf path: String, kinds: SagaActionKinds) -> Analysis {
        let url = URL(fileURLWithPath: path)
        // Refuse a large file from its size, before reading it.
        if let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let size = attributes[.size] as? NSNumber, size.intValue > maxFileSize
        {
            return Analysis(result: WorkflowLoadResult(definition: nil, diagnostics: [tooLarge(size.intValue, file: path)]))
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            return failure("no such file: \(path)", file: path)
        }
        if isDirectory.boolValue { return failure("\(path) is a folder, not a workflow file", file: path) }
        // A device or a pipe could stream forever: read regular files only.
        if let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType,
            type != .typeRegular
        {
            return failure("\(path) is not a regular file", file: path)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            return failure("cannot read \(path): \(error.localizedDescription)", file: path)
        }
        return analyze(data: data, file: path, kinds: kinds)
    }

    static func analyze(data: Data, file: String, kinds: SagaActionKinds) -> Analysis {
        if data.count > maxFileSize {
            return Analysis(result: WorkflowLoadResult(definition: nil, diagnostics: [tooLarge(data.count, file: file)]))
        }
        let root: JSONNode
        do {
            root = try JSONParser.parse(data, maxDepth: maxDepth)
        } catch {
            let diagnostic = WorkflowDiagnostic(
                file: file, line: error.line, column: error.column, severity: .error,
                message: "invalid JSON: \(error.message)")
            return Analysis(result: WorkflowLoadResult(definition: nil, diagnostics: [diagnostic]))
        }
        var decoder = WorkflowDecoder(file: file, kinds: kinds)
        let decoded = decoder.decode(root)
        if let decoded {
            decoder.validate(decoded.steps)
            decoder.checkTemplateUse(decoded.steps, input: decoded.definition.input)
            decoder.checkWaits(decoded.steps)
        }
        let diagnostics = sortedAndCapped(decoder.diagnostics)
        let hasErrors = diagnostics.contains { $0.severity == .error }
        return Analysis(
            result: WorkflowLoadResult(definition: hasErrors ? nil : decoded?.definition, diagnostics: diagnostics),
            header: decoder.header)
    }

    static func failure(_ message: String, file: String) -> Analysis {
        let diagnostic = WorkflowDiagnostic(file: file, line: 1, column: 1, severity: .error, message: message)
        return Analysis(result: WorkflowLoadResult(definition: nil, diagnostics: [diagnostic]))
    }

    static func tooLarge(_ size: Int, file: String) -> WorkflowDiagnostic {
        WorkflowDiagnostic(
            file: file, line: 1, column: 1, severity: .error,
            message: "the file is \(size) bytes; workflow files are limited to 1 MiB (\(maxFileSize) bytes)")
    }

    /// In file order (stable for one position), at most `maxDiagnostics`.
    static func sortedAndCapped(_ diagnostics: [WorkflowDiagnostic]) -> [WorkflowDiagnostic] {
        var sorted = diagnostics.enumerated().sorted {
            ($0.element.line, $0.element.column, $0.offset) < ($1.element.line, $1.element.column, $1.offset)
        }.map(\.element)
        if sorted.count > maxDiagnostics, let last = sorted.prefix(maxDiagnostics).last {
            let total = sorted.count
            sorted = Array(sorted.prefix(maxDiagnostics))
            sorted.append(
                WorkflowDiagnostic(
                    file: last.file, line: last.line, column: last.column, severity: .error,
                    message: "too many problems (\(total)); only the first \(maxDiagnostics) are shown"))
        }
        return sorted
    }
}
