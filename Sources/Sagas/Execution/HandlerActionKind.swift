/// The core's `handler` kind: `{"handler": {"name": NAME, "input": INPUT}}` calls the Swift closure registered
/// under NAME (``SagaEngine/register(handler:_:)``). The engine runs it with its ``HandlerExecutor``.
public struct HandlerActionKind: SagaActionKind {
    /// The fields a handler spec may have.
    public static let keys = ["name", "input"]

    public init() {}

    public var name: StepAction.Kind { .handler }

    public func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker) {
        guard let m = checker.members(of: spec, allowed: Self.keys) else { return }
        if let name = m["name"] {
            if let s = checker.string(name.value, field: "name"), s.isEmpty {
                checker.error("the handler 'name' must not be empty", at: name.value.location)
            }
        } else {
            checker.error("missing required field 'name' in \(checker.subject)", at: spec.location)
        }
        if let input = m["input"] { checker.checkDuplicateKeys(in: input.value, field: "input") }
    }
}
