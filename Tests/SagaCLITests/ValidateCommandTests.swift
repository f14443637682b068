import Foundation
import Sagas
import Testing

/// Runs the built `saga` binary (`<package root>/.build/debug/saga`) and returns its exit code and output.
func runSaga(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let process = Process()
    process.executableURL = root.appendingPathComponent(".build/debug/saga")
    process.arguments = arguments
    process.currentDirectoryURL = root
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes to the end before waiting, so that a full pipe cannot block the child.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// Writes files into a fresh temporary folder.
func temporaryFolder(_ files: [String: String]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("saga-validate-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    for (name, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: "\(path)/\(name)")) }
    return path
}

@Suite struct ValidateCommandTests {
    static let good = #"{"name": "good", "version": 1, "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}]}"#
    static let warns = #"{"name": "warns", "version": 1, "steps": [{"name": "a", "action": {"handler": {"name": "h"}}}]}"#
    static let bad = """
        {"name": "bad", "version": 1, "steps": [
          {"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "compensaton": {}}
        ]}
        """

    @Test func theShippedWorkflowsValidate() throws {
        let result = try runSaga(["validate", "Workflows"])
        #expect(result.status == 0)
        #expect(result.stdout == "")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let shipped = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("Workflows").path)
            .filter { $0.hasSuffix(".json") }.count
        #expect(shipped >= 3)
        #expect(result.stderr == "\(shipped) files checked, 0 errors, 0 warnings\n")
        #expect(try runSaga(["validate", "--strict", "Workflows/order.json", "Workflows/travel.json"]).status == 0)
    }

    @Test func printsProblemsCompilerStyle() throws {
        let folder = try temporaryFolder(["bad.json": Self.bad, "good.json": Self.good, "warns.json": Self.warns])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try runSaga(["validate", folder])
        #expect(result.status == 1)
        #expect(result.stdout == """
            \(folder)/bad.json:2:75: error: unknown field 'compensaton' in step 1; did you mean 'compensation'?
            \(folder)/warns.json:1:43: warning: step 'a' has no compensation and no declared kind: if it has an \
            effect, add a 'compensation' that undoes it; if it has none, declare "kind": "readonly"

            """)
        #expect(result.stderr == "3 files checked, 1 error, 1 warning\n")
    }

    @Test(arguments: [(false, Int32(0), "1 file checked, 0 errors, 1 warning\n"), (true, Int32(1), "1 file checked, 1 error, 0 warnings\n")])
    func strictTurnsWarningsIntoErrors(_ strict: Bool, _ status: Int32, _ summary: String) throws {
        let folder = try temporaryFolder(["warns.json": Self.warns])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try runSaga(["validate"] + (strict ? ["--strict"] : []) + ["\(folder)/warns.json"])
        #expect(result.status == status)
        #expect(result.stdout.hasPrefix("\(folder)/warns.json:1:43: \(strict ? "error" : "warning"): step 'a'"))
        #expect(result.stderr == summary)
    }

    @Test func jsonOutput() throws {
        let folder = try temporaryFolder(["bad.json": Self.bad])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try runSaga(["validate", "--json", folder, "\(folder)/missing.json"])
        #expect(result.status == 1)
        let value = try JSONValue(parsing: result.stdout)
        #expect(value["files"] == 1)
        #expect(value["errors"] == 2)
        #expect(value["warnings"] == 0)
        #expect(value["diagnostics"] == [
            [
                "file": .string("\(folder)/missing.json"), "line": 1, "column": 1, "severity": "error",
                "message": .string("no such file or folder: \(folder)/missing.json"),
            ],
            [
                "file": .string("\(folder)/bad.json"), "line": 2, "column": 75, "severity": "error",
                "message": "unknown field 'compensaton' in step 1; did you mean 'compensation'?",
            ],
        ])
    }

    @Test func invalidJSONIsPositioned() throws {
        let folder = try temporaryFolder(["broken.json": "{\n  \"name\": \"x\",\n  \"version\": 1\n  \"steps\": []\n}"])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let result = try runSaga(["validate", "\(folder)/broken.json"])
        #expect(result.status == 1)
        #expect(result.stdout == "\(folder)/broken.json:4:3: error: invalid JSON: unexpected '\"': expected ',' or '}'\n")
    }

    @Test func needsAPath() throws {
        let result = try runSaga(["validate"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("Give at least one workflow file or folder."))
    }
}
