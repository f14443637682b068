import Foundation
import Sagas
import SagasTesting
import Testing

/// Malformed, truncated, huge and deeply nested input: never a crash, always a definition or positioned errors.
@Suite struct WorkflowRobustnessTests {
    static let orderData: Data = {
        FileManager.default.contents(atPath: packageRoot.appendingPathComponent("Workflows/order.json").path) ?? Data()
    }()

    /// Either a definition, or at least one error whose position lies inside the text.
    static func expectWellFormed(_ result: WorkflowLoadResult, lines: Int) {
        if result.definition == nil {
            #expect(result.hasErrors)
        }
        for d in result.diagnostics {
            #expect(d.line >= 1 && d.line <= lines + 1 && d.column >= 1, "\(d)")
        }
    }

    @Test func everyTruncationOfARealWorkflow() {
        let data = Self.orderData
        #expect(data.count > 1000)
        let lines = data.count { $0 == UInt8(ascii: "\n") } + 1
        var withDefinition = 0
        for length in 0..<data.count {
            let result = WorkflowLoader.load(data: data.prefix(length), file: "cut.json", kinds: .standard)
            Self.expectWellFormed(result, lines: lines)
            if result.definition != nil { withDefinition += 1 }
        }
        // Only cuts that drop nothing but the final whitespace still load.
        #expect(withDefinition <= 2)
        #expect(WorkflowLoader.load(data: data.prefix(0), file: "cut.json", kinds: .standard).diagnostics.first?.message
            == "invalid JSON: the file is empty: expected a JSON value")
    }

    @Test func seededRandomByteFlips() {
        var generator = SplitMix64(seed: 0x5A6A5)
        let original = [UInt8](Self.orderData)
        let lines = original.count { $0 == UInt8(ascii: "\n") } + 1
        var errors = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let i = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[i] = UInt8.random(in: 0...255, using: &generator)
            }
            let result = WorkflowLoader.load(data: Data(bytes), file: "flipped.json", kinds: .standard)
            Self.expectWellFormed(result, lines: lines + 4)
            if result.hasErrors { errors += 1 }
        }
        #expect(errors > 1000)
    }

    @Test(arguments: [
        ("{\"name\": \"a\u{FF}\"}", "invalid JSON"),
        ("\u{FE}\u{FF}{}", "invalid JSON"),
    ])
    func invalidUTF8(_ text: String, _ fragment: String) {
        // Build raw bytes: Latin-1 code points become single bytes, so 0xFF is an invalid UTF-8 byte.
        let bytes = text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) }
        let result = WorkflowLoader.load(data: Data(bytes), file: "latin1.json", kinds: .standard)
        #expect(result.definition == nil)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first?.message.contains(fragment) == true)
    }

    @Test func invalidUTF8InsideAStringIsPositioned() {
        var bytes = Array(#"{"name": "ab"#.utf8)
        bytes.append(0xC3)  // a lead byte followed by a quote: truncated sequence
        bytes.append(contentsOf: Array(#"", "version": 1}"#.utf8))
        let result = WorkflowLoader.load(data: Data(bytes), file: "x.json", kinds: .standard)
        #expect(result.diagnostics.map { "\($0.line):\($0.column)" } == ["1:13"])
        #expect(result.diagnostics.first?.message == "invalid JSON: invalid UTF-8 sequence")
    }

    @Test func tenThousandDeepNesting() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let result = WorkflowLoader.load(string: text, file: "deep.json", kinds: .standard)
        #expect(result.diagnostics.count == 1)
        let d = result.diagnostics.first
        #expect(d?.line == 1 && d?.column == 65)
        #expect(d?.message == "invalid JSON: nesting is deeper than 64 levels")
    }

    @Test func nestingAtTheLimitIsAccepted() {
        // 64 levels in all: the workflow object, "steps", a step, "action", "handler", then 59 arrays in "input".
        let input = String(repeating: "[", count: 59) + String(repeating: "]", count: 59)
        let text = #"{"name": "t", "version": 1, "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h", "input": "#
            + input + "}}}]}"
        #expect(WorkflowLoader.load(string: text, kinds: .standard).diagnostics == [])
        let deeper = text.replacingOccurrences(of: input, with: "[" + input + "]")
        #expect(WorkflowLoader.load(string: deeper, kinds: .standard).diagnostics.first?.message.contains("deeper than 64") == true)
    }

    @Test func twoMebibyteFile() {
        let text = #"{"name": "t", "version": 1, "description": ""# + String(repeating: "x", count: 2 << 20) + #""}"#
        let result = WorkflowLoader.load(string: text, file: "huge.json", kinds: .standard)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first?.message == "the file is 2097198 bytes; workflow files are limited to 1 MiB (1048576 bytes)")
        #expect(result.diagnostics.first.map { "\($0.line):\($0.column)" } == "1:1")
    }

    @Test func twoMebibyteFileOnDisk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sagas-huge-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(count: (2 << 20) + 1).write(to: URL(fileURLWithPath: path))
        let result = WorkflowLoader.load(contentsOf: path, kinds: .standard)
        #expect(result.diagnostics.map(\.message) == ["the file is 2097153 bytes; workflow files are limited to 1 MiB (1048576 bytes)"])
    }

    @Test(arguments: ["/dev/zero", "/nonexistent/order.json", "/tmp"])
    func pathsThatAreNotWorkflowFiles(_ path: String) {
        let result = WorkflowLoader.load(contentsOf: path, kinds: .standard)
        #expect(result.definition == nil)
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first.map { "\($0.file):\($0.line):\($0.column)" } == "\(path):1:1")
    }

    @Test func exactlyOneMebibyteIsParsed() {
        let head = #"{"name": "t", "version": 1, "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}], "description": ""#
        let text = head + String(repeating: "x", count: (1 << 20) - head.utf8.count - 2) + #""}"#
        #expect(text.utf8.count == 1 << 20)
        #expect(WorkflowLoader.load(string: text, kinds: .standard).diagnostics == [])
    }

    @Test(arguments: [1000, 1001])
    func stepLimit(_ count: Int) {
        let steps = (0..<count).map { #"{"name": "s\#($0)", "kind": "readonly", "action": {"handler": {"name": "h"}}}"# }
        let text = "{\"name\": \"t\", \"version\": 1, \"steps\": [\n" + steps.joined(separator: ",\n") + "\n]}"
        let result = WorkflowLoader.load(string: text, file: "many.json", kinds: .standard)
        if count <= WorkflowLoader.maxSteps {
            #expect(result.diagnostics == [])
            #expect(result.definition?.steps.count == count)
            #expect(result.definition?.steps.last?.after == ["s998"])
        } else {
            #expect(result.diagnostics.map(\.description) == ["many.json:1:38: error: the workflow has 1001 steps; at most 1000 are allowed"])
        }
    }

    @Test func aLongChainWithTemplatesAndACycle() {
        // 1,000 steps, each naming the first step's output, the first waiting for the last: one cycle through all.
        var steps = [#"{"name": "s0", "kind": "readonly", "after": ["s999"], "action": {"handler": {"name": "h"}}}"#]
        steps += (1..<1000).map {
            #"{"name": "s\#($0)", "kind": "readonly", "action": {"handler": {"name": "h", "input": "${steps.s0.output}"}}}"#
        }
        let text = "{\"name\": \"t\", \"version\": 1, \"steps\": [\n" + steps.joined(separator: ",\n") + "\n]}"
        let result = WorkflowLoader.load(string: text, kinds: .standard)
        let cycles = result.diagnostics.filter { $0.message.hasPrefix("dependency cycle: s0 -> s999 -> s998") }
        #expect(cycles.count == 1)
        #expect(cycles.first.map { "\($0.line):\($0.column)" } == "2:45")
    }
}


/// One duration limit for the validator, the writer of pinned definitions and their reader.
@Suite struct DurationLimitTests {
    static func workflow(timeout: String, maxInterval: String, retryInterval: String) -> String {
        """
        {"name": "w", "version": 1, "reconciliation": {"retryInterval": "\(retryInterval)"},
         "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "timeout": "\(timeout)",
                    "retry": {"maxAttempts": 2, "initialInterval": "1ms", "maxInterval": "\(maxInterval)"}}]}
        """
    }

    @Test func everyDurationUpToTheLimitReloadsFromThePinnedDefinition() throws {
        // The largest values each unit can spell within the limit, exact or not in a larger unit.
        for text in ["10000d", "240000h", "14400000m", "864000000000ms", "863999999999ms", "863999999s"] {
            let result = WorkflowLoader.load(string: Self.workflow(timeout: text, maxInterval: text, retryInterval: text), kinds: .standard)
            let definition = try #require(result.definition, "\(text): \(result.diagnostics)")
            let pinned = definition.json.jsonString
            let again = WorkflowLoader.load(string: pinned, file: "pinned", kinds: .standard)
            #expect(again.definition == definition, "\(text) written as \(pinned): \(again.diagnostics)")
        }
    }

    @Test(arguments: ["99999999999d", "10001d", "864000000001ms", "240001h", "999999999999h", "99999999999999999999d"])
    func aDurationPastTheLimitIsAnErrorThatNamesIt(_ text: String) {
        let result = WorkflowLoader.load(string: Self.workflow(timeout: text, maxInterval: "1m", retryInterval: "1m"), kinds: .standard)
        #expect(result.definition == nil)
        #expect(
            result.diagnostics.contains { $0.message.contains("'timeout' is longer than the longest duration allowed, 10000d") },
            "\(result.diagnostics)"
        )
    }

    @Test func theParserAndTheLimitAgree() {
        #expect(SagaDuration.parse("10000d") == SagaDuration.maximum)
        #expect(SagaDuration.parse("10001d") == nil)
        #expect(SagaDuration.exceedsMaximum("10001d"))
        #expect(!SagaDuration.exceedsMaximum("10000d"))
        #expect(!SagaDuration.exceedsMaximum("0000000000000000s"))
        #expect(!SagaDuration.exceedsMaximum("5 seconds"))
        #expect(SagaDuration.milliseconds(.seconds(Int64.max)) == Int64.max)
        #expect(SagaDuration.milliseconds(.seconds(Int64.min)) == Int64.min)
    }
}
