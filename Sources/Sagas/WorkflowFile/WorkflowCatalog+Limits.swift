import Foundation

extension WorkflowCatalog {
    /// The folder check of named limits: a limit name means one limit for every workflow on a database, so two
    /// files of one folder that declare one name differently are refused (at the second file's declaration).
    static func limitConflicts(files: [(path: String, header: WorkflowHeader)]) -> [WorkflowDiagnostic] {
        var diagnostics: [WorkflowDiagnostic] = []
        // By folder, then limit name: the first file that declares it.
        var first: [String: (path: String, declaration: LimitDeclaration)] = [:]
        for (path, header) in files {
            let folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
            for name in header.limits.keys.sorted() {
                guard let declaration = header.limits[name] else { continue }
                let key = "\(folder)\u{0}\(name)"
                guard let earlier = first[key] else {
                    first[key] = (path, declaration)
                    continue
                }
                if earlier.declaration.limit != declaration.limit {
                    diagnostics.append(
                        WorkflowDiagnostic(
                            file: path, line: declaration.location.line, column: declaration.location.column,
                            severity: .error,
                            message: "limit '\(name)' is declared as \(declaration.limit.summary) here but as "
                                + "\(earlier.declaration.limit.summary) in \(earlier.path) (line "
                                + "\(earlier.declaration.location.line)); a limit name means one limit for every "
                                + "workflow, so declare it the same way everywhere"))
                }
            }
        }
        return diagnostics
    }
}
