import ArgumentParser
import Foundation
import Sagas

/// `saga validate PATH...`: checks workflow files and prints every problem, compiler style.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check workflow files and report every problem with its line and column.",
        discussion: """
            Each PATH is a workflow file or a folder (its top-level *.json files). Problems are printed to \
            standard output as FILE:LINE:COLUMN: error: MESSAGE (or warning:), and a summary to standard error. \
            The same name and version in two files of one folder is an error.

            Exits 0 when no file has an error, 1 otherwise.

            Example:
              $ saga validate Workflows
              Workflows/order.json:12:9: error: unknown field 'compensaton' in step 2; did you mean 'compensation'?
              3 files checked, 1 error, 0 warnings
            """
    )

    @Argument(help: "Workflow files or folders of workflow files.")
    var paths: [String] = []

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Flag(help: "Print one JSON object: {\"files\", \"errors\", \"warnings\", \"diagnostics\"}.")
    var json = false

    func validate() throws {
        if paths.isEmpty { throw ValidationError("Give at least one workflow file or folder.") }
    }

    func run() throws {
        let report = WorkflowCatalog.validate(paths: paths, strict: strict, kinds: EngineFactory.kinds)
        if json {
            let diagnostics: [JSONValue] = report.diagnostics.map {
                [
                    "file": .string($0.file), "line": .integer($0.line), "column": .integer($0.column),
                    "severity": .string($0.severity.rawValue), "message": .string($0.message),
                ]
            }
            let object: JSONValue = [
                "files": .integer(report.files.count), "errors": .integer(report.errorCount),
                "warnings": .integer(report.warningCount), "diagnostics": .array(diagnostics),
            ]
            print(object.prettyJSONString)
        } else {
            for diagnostic in report.diagnostics { print(diagnostic.description) }
            let summary = "\(Self.count(report.files.count, "file")) checked, "
                + "\(Self.count(report.errorCount, "error")), \(Self.count(report.warningCount, "warning"))\n"
            FileHandle.standardError.write(Data(summary.utf8))
        }
        if report.hasErrors { throw ExitCode(1) }
    }

    static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}
