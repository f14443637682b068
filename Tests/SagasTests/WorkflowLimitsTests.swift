import Foundation
import Sagas
import Testing

/// The workflow format of named limits and exclusive keys: decoding, positioned diagnostics, the pinned snapshot,
/// and the folder check of `saga validate`.
@Suite struct WorkflowLimitsTests {
    static func text(top: [String], limit: String? = nil) -> String {
        let step = limit.map { #", "limit": \#($0)"# } ?? ""
        return (["{", #""name": "t","#, #""version": 1,"#] + top + [#""steps": ["#]).joined(separator: "\n") + "\n"
            + #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}\#(step)}"# + "\n]}"
    }

    @Test func decodesLimitsExclusiveAndStepLimit() throws {
        let text = Self.text(
            top: [#""limits": {"payments": {"concurrency": 8, "rate": "50/s"}, "slow": {"rate": "5/10s"}},"#,
                  #""exclusive": ["account:${input.accountId}", "shop"],"#],
            limit: #""payments""#)
        let result = WorkflowLoader.load(string: text, file: "t.json", kinds: .standard)
        let definition = try #require(result.definition, "\(result.diagnostics)")
        #expect(definition.limits["payments"] == SagaLimit(concurrency: 8, rate: SagaRate(count: 50, period: .seconds(1))))
        #expect(definition.limits["slow"] == SagaLimit(rate: SagaRate(count: 5, period: .seconds(10))))
        #expect(definition.exclusive == ["account:${input.accountId}", "shop"])
        #expect(definition.steps[0].limit == "payments")
        // The snapshot a saga pins loads back to the same definition.
        let again = WorkflowLoader.load(string: definition.json.jsonString, file: "pinned", kinds: .standard)
        #expect(again.definition == definition, "\(again.diagnostics)")
    }

    @Test func exclusiveAsOneString() throws {
        let result = WorkflowLoader.load(string: Self.text(top: [#""exclusive": "account:${input.id}","#]), file: "t", kinds: .standard)
        #expect(try #require(result.definition).exclusive == ["account:${input.id}"])
    }

    @Test(arguments: [
        (#""limits": {"p": {"concurrency": 0}},"#, 4, 33, "'limits.p.concurrency' must be an integer from 1 to 10000, got 0"),
        (#""limits": {"p": {"rate": "fast"}},"#, 4, 26, #"'limits.p.rate' must be COUNT/PERIOD such as "50/s""#),
        (#""limits": {"p": {"rate": "0/s"}},"#, 4, 26, #"'limits.p.rate' must be COUNT/PERIOD"#),
        (#""limits": {"p": {}},"#, 4, 17, "limit 'p' must set 'concurrency', 'rate' or both"),
        (#""limits": {"p": {"concurency": 2}},"#, 4, 18, "unknown field 'concurency' in limit 'p'; did you mean 'concurrency'?"),
        (#""limits": {"a b": {"concurrency": 2}},"#, 4, 12, "limit name must be 1 to 100 letters"),
        (#""limits": [],"#, 4, 11, "'limits' must be an object of named limits, got array"),
        (#""exclusive": 3,"#, 4, 14, "'exclusive' must be a key template or an array of them, got integer"),
        (#""exclusive": [],"#, 4, 14, "'exclusive' must list at least one key template"),
        (#""exclusive": ["k", "k"],"#, 4, 20, #"'exclusive' lists "k" twice"#),
        (#""exclusive": "${steps.a.output}","#, 4, 14, "'exclusive' may only use ${input.…} and ${saga.workflow}"),
        (#""exclusive": "${input.a","#, 4, 14, "invalid template in 'exclusive'"),
    ])
    func reportsTheProblemWhereItIs(top: String, line: Int, column: Int, fragment: String) {
        let result = WorkflowLoader.load(string: Self.text(top: [top]), file: "t.json", kinds: .standard)
        let listing = result.diagnostics.map(\.description).joined(separator: "\n")
        #expect(result.definition == nil)
        #expect(
            result.diagnostics.contains { $0.line == line && $0.column == column && $0.message.contains(fragment) },
            "expected \(line):\(column): \(fragment); got:\n\(listing)")
    }

    @Test func stepLimitMustBeDeclared() {
        let text = Self.text(top: [#""limits": {"payments": {"concurrency": 1}},"#], limit: #""paymnts""#)
        let result = WorkflowLoader.load(string: text, file: "t.json", kinds: .standard)
        #expect(result.definition == nil)
        #expect(result.diagnostics.map(\.description).contains {
            $0.hasPrefix("t.json:6:")
                && $0.contains("step 'a' uses limit 'paymnts', which 'limits' does not declare; did you mean 'payments'?")
        }, "\(result.diagnostics)")
    }

    @Test func folderRefusesOneLimitDeclaredTwoWays() throws {
        let folder = try WorkflowFolder([
            "a.json": Self.text(top: [#""limits": {"payments": {"concurrency": 8}},"#], limit: #""payments""#),
            "b.json": Self.text(top: [#""limits": {"payments": {"concurrency": 8}},"#]).replacingOccurrences(
                of: #""name": "t""#, with: #""name": "u""#),
            "c.json": Self.text(top: [#""limits": {"payments": {"concurrency": 4, "rate": "5/s"}},"#])
                .replacingOccurrences(of: #""name": "t""#, with: #""name": "v""#),
        ])
        let report = WorkflowCatalog.validate(paths: [folder.path], strict: false, kinds: .standard)
        #expect(report.diagnostics.map(\.description) == [
            "\(folder.path)/c.json:4:12: error: limit 'payments' is declared as concurrency 4, rate 5/s here but as "
                + "concurrency 8 in \(folder.path)/a.json (line 4); a limit name means one limit for every workflow, "
                + "so declare it the same way everywhere"
        ])
        // The same declarations in different folders are not compared.
        let other = try WorkflowFolder(["c.json": Self.text(top: [#""limits": {"payments": {"concurrency": 4}},"#])])
        let two = WorkflowCatalog.validate(paths: ["\(folder.path)/a.json", "\(other.path)/c.json"], strict: false, kinds: .standard)
        #expect(two.diagnostics.isEmpty, "\(two.diagnostics)")
    }
}
