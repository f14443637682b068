import Foundation

/// A folder of workflow files, and how a reference such as `order`, `order@2` or `flows/order.json` picks one.
public struct WorkflowCatalog: Sendable {
    /// The folder whose top-level `*.json` files are the workflows.
    public var directory: String
    /// The action kinds its workflows may use (``SagaActionKinds``).
    public var kinds: SagaActionKinds

    public init(directory: String, kinds: SagaActionKinds = .core) {
        self.directory = directory
        self.kinds = kinds
    }

    /// Finds and loads the workflow a reference names.
    ///
    /// - Parameter reference: a path to a file (it contains `/` or ends in `.json`; a bare `NAME.json` is also
    ///   looked for in the folder), `NAME` (the highest version in the folder) or `NAME@VERSION`.
    /// - Returns: the definition and the path of its file (commands run in that file's folder).
    /// - Throws: `SagaError` `.workflowNotFound` (listing what the folder has) when nothing matches,
    ///   `.invalidWorkflow` with every diagnostic when the chosen file has errors.
    public func resolve(_ reference: String) throws(SagaError) -> (definition: SagaDefinition, path: String) {
        if reference.contains("/") || reference.hasSuffix(".json") {
            var candidates = [reference]
            if !reference.contains("/") { candidates.append((directory as NSString).appendingPathComponent(reference)) }
            for path in candidates where Self.isFile(path) {
                return (try WorkflowLoader.definition(contentsOf: path, kinds: kinds), path)
            }
            throw SagaError(.workflowNotFound, "no workflow file at \(reference)", file: reference)
        }

        let name: String
        var version: Int?
        if let at = reference.lastIndex(of: "@") {
            name = String(reference[..<at])
            let text = reference[reference.index(after: at)...]
            guard let v = Int(text), v > 0 else {
                throw SagaError(
                    .invalidArgument,
                    "invalid workflow reference '\(reference)': the version after '@' must be a positive integer")
            }
            version = v
        } else {
            name = reference
        }

        guard Self.isDirectory(directory) else {
            throw SagaError(.workflowNotFound, "workflow folder \(directory) does not exist", file: directory)
        }
        let entries = Self.entries(in: directory, kinds: kinds)
        let available = entries.compactMap { $0.header.map { "\($0.name)@\($0.version)" } }.sorted()
        let availableText = available.isEmpty ? "it has no valid workflow files" : "available: "
            + available.joined(separator: ", ")
        let matching = entries.filter { $0.header?.name == name }
        guard !matching.isEmpty else {
            throw SagaError(.workflowNotFound, "no workflow named '\(name)' in \(directory) (\(availableText))")
        }
        let chosenVersion = version ?? matching.compactMap { $0.header?.version }.max() ?? 0
        let chosen = matching.filter { $0.header?.version == chosenVersion }
        guard let entry = chosen.first else {
            throw SagaError(
                .workflowNotFound,
                "workflow '\(name)' has no version \(chosenVersion) in \(directory) (\(availableText))")
        }
        if chosen.count > 1 {
            let files = chosen.map(\.path).joined(separator: ", ")
            let diagnostics = chosen.dropFirst().map { other in
                WorkflowDiagnostic(
                    file: other.path, line: other.header?.location.line ?? 1,
                    column: other.header?.location.column ?? 1, severity: .error,
                    message: "workflow '\(name)' version \(chosenVersion) is also defined in \(entry.path)")
            }
            throw SagaError(
                .invalidWorkflow, "workflow \(name)@\(chosenVersion) is defined by more than one file: \(files)",
                file: entry.path, diagnostics: diagnostics)
        }
        return (try WorkflowLoader.definition(of: entry.analysis.result, path: entry.path), entry.path)
    }

    /// Validates files and folders (a folder's top-level `*.json` files), as `saga validate` does.
    ///
    /// Reports every problem of every file, a path that does not exist, and the same `name` and `version` in two
    /// files of one folder. With `strict`, warnings are reported as errors. `kinds`: the action kinds the files
    /// may use.
    public static func validate(paths: [String], strict: Bool, kinds: SagaActionKinds = .core)
        -> WorkflowValidationReport
    {
        var files: [String] = []
        var diagnostics: [WorkflowDiagnostic] = []
        for path in paths {
            if isDirectory(path) {
                files.append(contentsOf: jsonFiles(in: path))
            } else if FileManager.default.fileExists(atPath: path) {
                files.append(path)
            } else {
                diagnostics.append(
                    WorkflowDiagnostic(file: path, line: 1, column: 1, severity: .error,
                                       message: "no such file or folder: \(path)"))
            }
        }
        // Each file once, in the order given.
        var seen: Set<String> = []
        files = files.filter { seen.insert(URL(fileURLWithPath: $0).standardizedFileURL.path).inserted }

        var byFolderAndReference: [String: (path: String, header: WorkflowHeader)] = [:]
        var headers: [(path: String, header: WorkflowHeader)] = []
        for file in files {
            let analysis = WorkflowLoader.analyze(contentsOf: file, kinds: kinds)
            diagnostics.append(contentsOf: analysis.result.diagnostics)
            guard let header = analysis.header else { continue }
            headers.append((file, header))
            let folder = URL(fileURLWithPath: file).standardizedFileURL.deletingLastPathComponent().path
            let key = "\(folder)\u{0}\(header.name)@\(header.version)"
            if let first = byFolderAndReference[key] {
                diagnostics.append(
                    WorkflowDiagnostic(
                        file: file, line: header.location.line, column: header.location.column, severity: .error,
                        message: "workflow '\(header.name)' version \(header.version) is also defined in "
                            + "\(first.path) (line \(first.header.location.line)); give this file another "
                            + "'name' or 'version'"))
            } else {
                byFolderAndReference[key] = (file, header)
            }
        }
        diagnostics.append(contentsOf: limitConflicts(files: headers))
        if strict {
            for i in diagnostics.indices where diagnostics[i].severity == .warning {
                diagnostics[i].severity = .error
            }
        }
        return WorkflowValidationReport(files: files, diagnostics: diagnostics)
    }

    // MARK: Files

    struct Entry {
        var path: String
        var analysis: WorkflowLoader.Analysis
        var header: WorkflowHeader? { analysis.header }
    }

    static func entries(in directory: String, kinds: SagaActionKinds) -> [Entry] {
        jsonFiles(in: directory).map { Entry(path: $0, analysis: WorkflowLoader.analyze(contentsOf: $0, kinds: kinds)) }
    }

    /// The folder's top-level `*.json` files, sorted by name.
    static func jsonFiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
            .filter { isFile($0) }
    }

    static func isDirectory(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static func isFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// What `WorkflowCatalog.validate(paths:strict:)` found.
public struct WorkflowValidationReport: Sendable {
    /// Every file checked, in order.
    public var files: [String]
    /// Every problem, file by file, each file's in file order.
    public var diagnostics: [WorkflowDiagnostic]

    public init(files: [String], diagnostics: [WorkflowDiagnostic]) {
        self.files = files
        self.diagnostics = diagnostics
    }

    public var errorCount: Int { diagnostics.count { $0.severity == .error } }
    public var warningCount: Int { diagnostics.count { $0.severity == .warning } }
    public var hasErrors: Bool { errorCount > 0 }
}
