import Foundation
import Sagas
import SagasCommand
import Testing

/// The package's root folder, from this file's path (`Tests/SagasTests/WorkflowLoaderTests.swift`).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The sagas shipped in `Workflows/`.
let shippedWorkflows: [String] = {
    let folder = packageRoot.appendingPathComponent("Workflows").path
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted().map { "\(folder)/\($0)" }
}()

@Suite struct WorkflowLoaderTests {
    @Test func theShippedWorkflowsAreThere() {
        #expect(shippedWorkflows.map { ($0 as NSString).lastPathComponent } == ["order-callback.json", "order.json", "shop-order.json", "transfer.json", "travel.json"])
    }

    @Test(arguments: shippedWorkflows)
    func shippedWorkflowLoadsWithoutDiagnostics(_ path: String) throws {
        let result = WorkflowLoader.load(contentsOf: path, kinds: .standard)
        #expect(result.diagnostics == [])
        let definition = try #require(result.definition)
        #expect(definition.version == 1)
        #expect(definition.steps.count >= 4)
        #expect(definition.steps.filter { $0.kind == .pivot }.count == 1)
    }

    @Test(arguments: shippedWorkflows)
    func shippedWorkflowRoundTrips(_ path: String) throws {
        let definition = try WorkflowLoader.definition(contentsOf: path, kinds: .standard)
        let again = WorkflowLoader.load(string: definition.json.jsonString, file: "snapshot.json", kinds: .standard)
        #expect(again.diagnostics == [])
        #expect(again.definition == definition)
        // And the pretty form, as a person would save it.
        #expect(WorkflowLoader.load(string: definition.json.prettyJSONString, kinds: .standard).definition == definition)
    }

    @Test func orderWorkflowHasItsSteps() throws {
        let order = try WorkflowLoader.definition(contentsOf: packageRoot.appendingPathComponent("Workflows/order.json").path, kinds: .standard)
        #expect(order.name == "order")
        #expect(order.steps.map(\.name) == ["create-order", "reserve-stock", "charge-payment", "ship"])
        #expect(order.steps.map(\.kind) == [.compensable, .compensable, .compensable, .pivot])
        #expect(order.steps.map(\.after) == [[], ["create-order"], ["reserve-stock"], ["charge-payment"]])
        #expect(order.steps[2].probe?.kind == .command)
        #expect(order.steps[0].action.spec["argv"] == ["./scripts/order-step.sh", "create-order", "${input.orderId}"])
        #expect(order.defaults.retry.initialInterval == .milliseconds(100))
        #expect(order.steps[3].timeout == .seconds(20))
        #expect(order.steps[0].timeout == .seconds(10))
    }

    @Test func travelBooksInParallel() throws {
        let travel = try WorkflowLoader.definition(contentsOf: packageRoot.appendingPathComponent("Workflows/travel.json").path, kinds: .standard)
        #expect(travel.steps.prefix(3).allSatisfy { $0.after == [] })
        #expect(travel.step(named: "confirm")?.after == ["book-flight", "book-hotel", "book-car"])
        #expect(travel.step(named: "notify")?.after == ["confirm"])
        #expect(travel.step(named: "notify")?.kind == .retriable)
        // A partial policy keeps the rest of the defaults it overrides.
        #expect(travel.step(named: "notify")?.retry == RetryPolicy(
            maxAttempts: 10, initialInterval: .milliseconds(100), maxInterval: .seconds(1)))
        #expect(travel.defaults.compensationRetry.maxAttempts == 5)
    }

    // MARK: Defaults

    static let minimal = #"""
        {"name": "t", "version": 2, "steps": [
        {"name": "a", "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "undo"}}},
        {"name": "b", "kind": "readonly", "action": {"http": {"method": "GET", "url": "http://x/${steps.a.output.id}"}},
         "retry": {"maxAttempts": 7}, "compensationRetry": {"jitter": "none"}, "timeout": "250ms"},
        {"name": "c", "kind": "readonly", "after": [], "action": {"command": {"argv": ["./c.sh"]}}}
        ]}
        """#

    @Test func defaultsAreApplied() throws {
        let result = WorkflowLoader.load(string: Self.minimal, kinds: .standard)
        #expect(result.diagnostics == [])
        let d = try #require(result.definition)
        #expect(d.reference == "t@2")
        #expect(d.defaults == StepDefaults())
        #expect(d.input == nil)
        #expect(d.description == nil)
        let (a, b, c) = (d.steps[0], d.steps[1], d.steps[2])
        #expect(a.after == [])
        #expect(b.after == ["a"])
        #expect(c.after == [])
        #expect(a.kind == .compensable)
        #expect(a.retry == .defaultAction)
        #expect(a.compensationRetry == .defaultCompensation)
        #expect(a.timeout == .seconds(30))
        #expect(b.retry == RetryPolicy(maxAttempts: 7))
        #expect(b.compensationRetry == RetryPolicy(maxAttempts: 5, jitter: .none))
        #expect(b.timeout == .milliseconds(250))
        #expect(a.compensation == .handler("undo"))
        #expect(b.action.spec == ["method": "GET", "url": "http://x/${steps.a.output.id}"])
    }

    @Test func stepsOverrideFileDefaults() throws {
        let text = #"""
            {"name": "t", "version": 1,
             "defaults": {"retry": {"maxAttempts": 9, "initialInterval": "2s", "maxInterval": "10s"},
                          "compensationRetry": {"backoffCoefficient": 1.5}, "timeout": "1m"},
             "steps": [{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}, "retry": {"maxAttempts": 2}}]}
            """#
        let d = try #require(WorkflowLoader.load(string: text, kinds: .standard).definition)
        #expect(d.defaults.retry == RetryPolicy(maxAttempts: 9, initialInterval: .seconds(2), maxInterval: .seconds(10)))
        #expect(d.defaults.compensationRetry == RetryPolicy(maxAttempts: 5, backoffCoefficient: 1.5))
        #expect(d.steps[0].retry == RetryPolicy(maxAttempts: 2, initialInterval: .seconds(2), maxInterval: .seconds(10)))
        #expect(d.steps[0].compensationRetry == d.defaults.compensationRetry)
        #expect(d.steps[0].timeout == .seconds(60))
    }

    @Test(arguments: [
        // A compensation and a probe may name their own step's output.
        #"{"name": "a", "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "u", "input": "${steps.a.output.id}"}}, "probe": {"command": {"argv": ["p", "${steps.a.output}"]}}}"#,
        // A transitive dependency runs before.
        #"{"name": "a", "kind": "readonly", "action": {"handler": {"name": "h"}}}, {"name": "b", "kind": "readonly", "action": {"handler": {"name": "h"}}}, {"name": "c", "kind": "readonly", "action": {"handler": {"name": "h", "input": {"x": ["${steps.a.output.x}", "$${literal}", "${input}", "${saga.id}", "${env.TOKEN}"]}}}}"#,
        // Steps before a pivot may be compensable, steps after it retriable or readonly.
        #"{"name": "a", "after": [], "action": {"handler": {"name": "h"}}, "compensation": {"handler": {"name": "u"}}}, {"name": "r", "after": [], "kind": "readonly", "action": {"handler": {"name": "h"}}}, {"name": "p", "kind": "pivot", "after": ["a", "r"], "action": {"handler": {"name": "h"}}}, {"name": "x", "kind": "retriable", "action": {"handler": {"name": "h"}}}, {"name": "y", "kind": "readonly", "after": ["p"], "action": {"handler": {"name": "h"}}}"#,
        // Schema keys editors use are accepted and ignored.
        #"{"name": "a", "kind": "readonly", "action": {"http": {"method": "POST", "url": "u", "headers": {"A": "b"}, "query": {"q": "1"}, "body": {"n": [1, 2.5, null]}, "successStatus": [200, 201], "followRedirects": false, "keepHeaders": ["Location"]}}, "description": "d"}"#,
    ])
    func validWorkflowsHaveNoDiagnostics(_ steps: String) {
        let text = #"{"$schema": "x", "name": "t", "version": 1, "input": {"$schema": "s", "title": "t", "description": "d", "additionalProperties": false, "type": ["object", "null"], "properties": {"n": {"type": "array", "items": {"enum": [1, "a"]}}}}, "steps": ["#
            + steps + "]}"
        let result = WorkflowLoader.load(string: text, kinds: .standard)
        #expect(result.diagnostics == [])
        #expect(result.definition != nil)
    }

    @Test func everyProblemIsReportedInFileOrder() {
        let text = """
            {"name": "Bad Name", "version": "one", "steps": [
            {"name": "a", "action": {"comand": {}}, "timeout": "soon"},
            {"name": "a", "action": {"handler": {"name": "h"}}, "retry": {"maxAttempts": 0}}
            ]}
            """
        let result = WorkflowLoader.load(string: text, file: "bad.json", kinds: .standard)
        #expect(result.definition == nil)
        #expect(result.diagnostics.map { "\($0.line):\($0.column) \($0.severity)" } == [
            "1:10 error", "1:33 error", "2:1 warning", "2:26 error", "2:52 error", "3:1 warning", "3:10 error",
            "3:78 error",
        ])
        #expect(result.diagnostics.map(\.message)[5...] == [
            "step 'a' has no compensation and no declared kind: if it has an effect, add a 'compensation' that undoes "
                + "it; if it has none, declare \"kind\": \"readonly\"",
            "duplicate step name 'a' (first defined at line 2)",
            "'retry.maxAttempts' must be an integer from 1 to 1000, got 0",
        ])
        #expect(result.diagnostics.first?.description
            == "bad.json:1:10: error: 'name' must be 1 to 100 lower-case letters, digits, '.', '_' or '-', got \"Bad Name\"")
    }

    @Test func diagnosticsAreCapped() {
        let keys = (0..<300).map { #""unknown\#($0)": 1"# }.joined(separator: ",\n")
        let text = "{\n" + keys + "\n}"
        let result = WorkflowLoader.load(string: text, kinds: .standard)
        #expect(result.diagnostics.count == WorkflowLoader.maxDiagnostics + 1)
        #expect(result.diagnostics.last?.message.contains("too many problems") == true)
    }

    // MARK: Round trip of a definition built in code

    @Test func programmaticDefinitionRoundTrips() throws {
        let definition = SagaDefinition(
            name: "built", version: 3, description: "made in code",
            input: InputSchema(types: ["object"], required: ["id"], properties: [
                "id": InputSchema(types: ["string", "null"]),
                "tags": InputSchema(types: ["array"], items: InputSchema(allowedValues: ["a", 2, true])),
            ]),
            defaults: StepDefaults(retry: RetryPolicy(maxAttempts: 4, initialInterval: .milliseconds(1500)),
                                   timeout: .seconds(90)),
            steps: [
                SagaStep(name: "one", action: .command(["./x", "${input.id}"], stdin: ["a": 1], env: ["K": "v"]),
                         compensation: .handler("undo", input: ["id": "${steps.one.output.id}"]),
                         retry: RetryPolicy(maxAttempts: 4, initialInterval: .milliseconds(1500)),
                         timeout: .seconds(90), after: [], kind: .compensable),
                SagaStep(name: "two", action: .handler("h"), probe: .handler("p"),
                         retry: RetryPolicy(backoffCoefficient: 1.25, maxInterval: .seconds(3600), jitter: .none),
                         compensationRetry: RetryPolicy(maxAttempts: 1, initialInterval: .zero, maxInterval: .zero),
                         timeout: .milliseconds(1), after: ["one"], kind: .pivot),
            ])
        let result = WorkflowLoader.load(string: definition.json.jsonString, kinds: .standard)
        #expect(!result.hasErrors, "\(result.diagnostics)")
        #expect(result.definition == definition)
    }
}
