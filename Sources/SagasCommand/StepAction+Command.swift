public import Sagas

extension StepAction {
    /// A command action: `{"command": {"argv": ARGV}}` (the spec ``CommandActionKind`` checks).
    public static func command(_ argv: [String], stdin: JSONValue? = nil, env: [String: String] = [:]) -> StepAction {
        var spec: [String: JSONValue] = ["argv": .array(argv.map { .string($0) })]
        if let stdin { spec["stdin"] = stdin }
        if !env.isEmpty { spec["env"] = .object(env.mapValues { .string($0) }) }
        return StepAction(kind: .command, spec: .object(spec))
    }
}
