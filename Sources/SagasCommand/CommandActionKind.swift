public import Logging
public import Sagas

/// The `command` action kind: the rules of its spec (`argv`, `stdin`, `env`) and the ``CommandExecutor`` that runs
/// it. Registering it is opt-in: the core spawns no process.
///
/// ```swift
/// engine.register(kind: CommandActionKind())  // a CommandExecutor with the engine's output limit and environment
/// ```
public struct CommandActionKind: SagaActionKind {
    /// The fields a command spec may have.
    public static let keys = ["argv", "stdin", "env"]

    /// Whether registering the kind with an engine also registers a ``CommandExecutor``.
    public var makesExecutor: Bool

    /// - Parameter makesExecutor: `false` for a kind that only validates (a registry for `saga validate`).
    public init(makesExecutor: Bool = true) {
        self.makesExecutor = makesExecutor
    }

    public var name: StepAction.Kind { .command }

    public func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker) {
        guard let m = checker.members(of: spec, allowed: Self.keys) else { return }
        if let argv = m["argv"] {
            if let entries = checker.stringArray(argv.value, field: "argv") {
                if case .array(let elements) = argv.value.kind, elements.isEmpty {
                    checker.error("'argv' must not be empty: its first element is the program to run",
                                  at: argv.value.location)
                } else if let first = entries.first, first.0.isEmpty {
                    checker.error("'argv[0]' must name the program to run", at: first.1)
                }
            }
        } else {
            checker.error("missing required field 'argv' in \(checker.subject)", at: spec.location)
        }
        if let stdin = m["stdin"] { checker.checkDuplicateKeys(in: stdin.value, field: "stdin") }
        if let env = m["env"] { checker.stringMap(env.value, field: "env") }
    }

    /// A ``CommandExecutor`` with the engine's `maxOutputBytes` and `environment`.
    public func makeExecutor(configuration: SagaEngine.Configuration, logger: Logger) -> (any StepExecutor)? {
        guard makesExecutor else { return nil }
        return CommandExecutor(maxOutputBytes: configuration.maxOutputBytes, environment: configuration.environment)
    }
}
