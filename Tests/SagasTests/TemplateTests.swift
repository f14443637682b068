import Foundation
import Sagas
import SagasTesting
import Testing

/// Templates: defaults, keys, URL encoding and numbers (issue 14, items 10, 11 and 18).
@Suite struct TemplateTests {
    static func context(
        input: JSONValue = [:],
        outputs: [String: JSONValue] = [:],
        environment: [String: String] = [:],
        step: String? = "pay",
        phase: StepPhase? = .compensation
    ) -> Template.Context {
        Template.Context(
            input: input, outputs: outputs, sagaID: "s-1", workflow: "w@1", environment: environment,
            step: step, phase: phase)
    }

    static func resolve(_ text: String, _ context: Template.Context) throws -> JSONValue {
        try Template.resolve(.string(text), in: context).value
    }

    // MARK: Defaults (item 18)

    @Test func aDefaultReplacesAMissingOrNullValue() throws {
        let c = Self.context(input: ["note": "hi", "empty": .null, "n": 3])
        #expect(try Self.resolve(#"${input.note ?? ""}"#, c) == "hi")
        #expect(try Self.resolve(#"${input.absent ?? ""}"#, c) == "")
        #expect(try Self.resolve(#"${input.empty ?? "none"}"#, c) == "none")
        #expect(try Self.resolve(#"${input.absent ?? 'single quoted'}"#, c) == "single quoted")
        #expect(try Self.resolve(#"${input.absent ?? 0}"#, c) == 0)
        #expect(try Self.resolve(#"${input.absent ?? true}"#, c) == true)
        #expect(try Self.resolve(#"${input.absent ?? null}"#, c) == .null)
        #expect(try Self.resolve(#"${input.absent ?? input.n}"#, c) == 3)
        #expect(try Self.resolve(#"${input.absent ?? input.gone ?? "last"}"#, c) == "last")
        #expect(try Self.resolve(#"note: ${input.absent ?? "a } brace"}!"#, c) == "note: a } brace!")
        #expect(try Self.resolve(#"n=${input.absent ?? 7}"#, c) == "n=7")
        // A single '?' is part of a name, as before.
        #expect(try Self.resolve("${input.what?}", Self.context(input: ["what?": "q"])) == "q")
        // Without a default, null is a value and a missing value is an error, as before.
        #expect(try Self.resolve("${input.empty}", c) == .null)
        #expect(throws: SagaError.self) { try Self.resolve("${input.absent}", c) }
        // Every alternative missing and no literal: the first one's error.
        #expect {
            try Self.resolve("${input.absent ?? input.gone}", c)
        } throws: { ($0 as? SagaError)?.message.contains("${input.absent} names a missing value") == true }
    }

    @Test func aCompensationFallsBackToItsStepsKey() throws {
        // The engine gives a compensation of a step whose outcome is unknown a null output.
        let unknown = Self.context(outputs: ["pay": .null])
        #expect(try Self.resolve("${steps.pay.output.id ?? steps.pay.key}", unknown) == "s-1/pay/action")
        #expect(throws: SagaError.self) { try Self.resolve("${steps.pay.output.id}", unknown) }
        let known = Self.context(outputs: ["pay": ["id": "pay-9"]])
        #expect(try Self.resolve("${steps.pay.output.id ?? steps.pay.key}", known) == "pay-9")
        #expect(try Self.resolve("${steps.other.key}", known) == "s-1/other/action")
        #expect(try Self.resolve("${step.key}", known) == "s-1/pay/compensation")
        #expect(try Self.resolve("${step.key}", Self.context(phase: .probe)) == "s-1/pay/probe")
    }

    /// End to end: a step whose outcome stays unknown (it timed out, no probe) is compensated with no output; the
    /// compensation's default gives the step's key instead of failing for good.
    @Test(.timeLimit(.minutes(1))) func anUnknownStepIsCompensatedWithItsKey() async throws {
        let engine = TestSupport.engine()
        let recorder = HandlerRecorder()
        TestSupport.script(engine, recorder, "pay", [.hang], otherwise: .hang)
        engine.register(handler: "refund", recorder.recording("refund") { context in context.input })
        let definition = TestSupport.definition([
            SagaStep(
                name: "pay", action: .handler("pay"),
                compensation: .handler("refund", input: ["id": "${steps.pay.output.id ?? steps.pay.key}", "note": "${input.note ?? ''}"]),
                retry: TestSupport.fastRetry(1), compensationRetry: TestSupport.fastRetry(1), timeout: .milliseconds(50),
                after: []),
        ])
        let record = try await engine.execute(definition, input: [:], id: "s-unknown")
        #expect(record.status == .compensated)
        #expect(recorder.invocations(of: "refund").first?.input == ["id": "s-unknown/pay/action", "note": ""])
    }

    @Test(arguments: [
        (#"${"x" ?? input.a}"#, "starts with a literal"),
        (#"${input.a ?? "x" ?? input.b}"#, "a literal default must come last"),
        (#"${input.a ?? }"#, "empty alternative"),
        (#"${input.a ?? "unclosed}"#, "not closed"),
        (#"${input.a ?? 'x' 'y'}"#, "malformed"),
        ("${steps.a.id}", "${steps.NAME.key}"),
        ("${step.name}", "the step root has 'key'"),
    ])
    func malformedTemplatesAreRefused(text: String, fragment: String) {
        #expect {
            _ = try Template.parse(text)
        } throws: { error in
            let message = (error as? Template.SyntaxError)?.message ?? ""
            return message.contains(fragment)
        }
    }

    // MARK: URLs (item 11)

    static func url(_ template: String, input: JSONValue) throws -> String {
        let action = StepAction(kind: .http, spec: ["method": "POST", "url": .string(template)])
        let resolved = try Template.resolve(action, in: Self.context(input: input)).value
        return try #require(resolved["url"]?.stringValue)
    }

    @Test func valuesInAURLAreEncodedAsOneSegmentOrValue() throws {
        let base = "http://127.0.0.1:8080"
        #expect(try Self.url("\(base)/items/${input.id}", input: ["id": "../../_control"]) == "\(base)/items/..%2F..%2F_control")
        #expect(try Self.url("\(base)/items/${input.id}", input: ["id": "1?admin=1"]) == "\(base)/items/1%3Fadmin%3D1")
        #expect(try Self.url("\(base)/items/${input.id}/x", input: ["id": "a#b c%"]) == "\(base)/items/a%23b%20c%25/x")
        #expect(try Self.url("\(base)/p?key=${input.k}&n=${input.n}", input: ["k": "a&b=c+d", "n": 12]) == "\(base)/p?key=a%26b%3Dc%2Bd&n=12")
        #expect(try Self.url("\(base)/u/${input.name}", input: ["name": "été"]) == "\(base)/u/%C3%A9t%C3%A9")
        // A template that starts the URL is its base: inserted as it is.
        #expect(try Self.url("${input.shop}/orders/${input.id}", input: ["shop": .string(base), "id": "o/1"]) == "\(base)/orders/o%2F1")
        // raw: opts out, anywhere.
        #expect(try Self.url("\(base)/${raw:input.prefix}/x", input: ["prefix": "v1/api"]) == "\(base)/v1/api/x")
        #expect(try Self.url("\(base)/q?${raw:input.query ?? \"\"}", input: [:]) == "\(base)/q?")
        // Only the url: other fields are not URL-encoded.
        let action = StepAction(kind: .http, spec: ["method": "POST", "url": .string("\(base)/x"), "body": ["id": "${input.id}"]])
        #expect(try Template.resolve(action, in: Self.context(input: ["id": "a/b"])).value["body"] == ["id": "a/b"])
    }

    @Test(arguments: ["..", ".", ""])
    func aValueThatWouldChangeThePathIsRefused(value: String) throws {
        #expect {
            try Self.url("http://h/items/${input.id}/refund", input: ["id": .string(value)])
        } throws: { ($0 as? SagaError)?.message.contains("would change the request's path") == true }
        #expect(throws: SagaError.self) { try Self.url("http://h/items/${input.id}", input: ["id": .string(value)]) }
        // Inside a segment, or in the query, it is harmless.
        #expect(try Self.url("http://h/items/x${input.id}", input: ["id": .string(value)]) == "http://h/items/x\(value)")
        #expect(try Self.url("http://h/items?id=${input.id}", input: ["id": .string(value)]) == "http://h/items?id=\(value)")
    }
}
