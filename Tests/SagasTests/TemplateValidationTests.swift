import Foundation
import Sagas
import Testing

/// What `saga validate` says about template use (issue 14, item 18).
@Suite struct TemplateValidationTests {
    static func load(steps: String, input: String = #"{"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}, "note": {"type": "string"}}}"#) -> WorkflowLoadResult {
        WorkflowLoader.load(string: #"{"name": "t", "version": 1, "input": \#(input), "steps": [\#(steps)]}"#, file: "t.json", kinds: .standard)
    }

    static func warnings(_ result: WorkflowLoadResult) -> [String] {
        result.diagnostics.filter { $0.severity == .warning }.map(\.message)
    }

    static let pay = #"{"name": "pay", "action": {"handler": {"name": "pay"}}, "compensation": {"handler": {"name": "refund", "input": {"id": "TEMPLATE"}}}PROBE}"#

    static func pay(_ template: String, probe: Bool = false) -> String {
        pay.replacingOccurrences(of: "TEMPLATE", with: template)
            .replacingOccurrences(of: "PROBE", with: probe ? #", "probe": {"handler": {"name": "pay.probe"}}"# : "")
    }

    @Test func aCompensationReadingItsOwnOutputWithoutDefaultOrProbeIsAWarning() {
        let bare = Self.load(steps: Self.pay("${steps.pay.output.id}"))
        #expect(!bare.hasErrors)
        let message = try? #require(Self.warnings(bare).first)
        #expect(message?.contains("template '${steps.pay.output.id}' in the compensation of step 'pay' reads the step's own output, which is missing when the step's outcome is unknown") == true, "\(bare.diagnostics)")
        #expect(message?.contains("${steps.pay.output.id ?? steps.pay.key}") == true)
        // Safe: a default, a key, a probe.
        for safe in [
            Self.pay("${steps.pay.output.id ?? steps.pay.key}"),
            Self.pay(#"${steps.pay.output.id ?? \"\"}"#),
            Self.pay("${steps.pay.output.id ?? input.id}"),
            Self.pay("${steps.pay.output.id}", probe: true),
        ] {
            let result = Self.load(steps: safe)
            #expect(result.diagnostics.isEmpty, "\(safe): \(result.diagnostics)")
        }
        // A fallback that may be missing too does not make it safe.
        #expect(Self.warnings(Self.load(steps: Self.pay("${steps.pay.output.id ?? input.note}"))).count == 1)
    }

    @Test func anOptionalInputFieldWithoutADefaultIsAWarning() {
        let step = #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h", "input": {"n": "TEMPLATE"}}}}"#
        let optional = Self.load(steps: step.replacingOccurrences(of: "TEMPLATE", with: "${input.note}"))
        #expect(Self.warnings(optional) == [
            #"template '${input.note}' in the action of step 'a' reads 'input.note', which the input schema does not require: add a default (${input.note ?? ""}) or list it in 'required'"#
        ])
        for safe in ["${input.id}", #"${input.note ?? \"\"}"#, "${input.note ?? input.id}", "${input}"] {
            let result = Self.load(steps: step.replacingOccurrences(of: "TEMPLATE", with: safe))
            #expect(result.diagnostics.isEmpty, "\(safe): \(result.diagnostics)")
        }
        // Without an input schema, nothing is known: no warning.
        let anyInput = WorkflowLoader.load(
            string: #"{"name": "t", "version": 1, "steps": [\#(step.replacingOccurrences(of: "TEMPLATE", with: "${input.note}"))]}"#,
            file: "t.json", kinds: .standard)
        #expect(anyInput.diagnostics.isEmpty, "\(anyInput.diagnostics)")
    }

    @Test func keysAndRawAreChecked() {
        let unknown = Self.load(steps: #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h", "input": {"k": "${steps.b.key}"}}}}"#)
        #expect(unknown.hasErrors)
        #expect(unknown.diagnostics.contains { $0.message.contains("names unknown step 'b'") })
        let raw = Self.load(steps: #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h", "input": {"k": "${raw:input.id}"}}}}"#)
        #expect(raw.diagnostics.contains { $0.severity == .error && $0.message.contains("'raw:' applies only to templates in an http 'url'") })
        let url = Self.load(steps: #"{"name": "a", "kind": "readonly", "action": {"http": {"method": "GET", "url": "http://h/${raw:input.id}/${step.key}"}}}"#)
        #expect(url.diagnostics.isEmpty, "\(url.diagnostics)")
    }

    @Test func theShippedWorkflowsAreClean() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Workflows")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }
        #expect(files.count == 5)
        for file in files {
            let result = WorkflowLoader.load(string: try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8), file: file, kinds: .standard)
            #expect(result.diagnostics.isEmpty, "\(file): \(result.diagnostics)")
        }
    }
}
