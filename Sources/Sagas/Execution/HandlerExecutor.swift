import Synchronization

/// Runs `handler` actions: Swift closures registered by name.
public final class HandlerExecutor: StepExecutor {
    private let handlers = Mutex<[String: StepHandler]>([:])

    public init() {}

    /// Registers (or replaces) the handler for `name`.
    public func register(_ name: String, _ handler: @escaping StepHandler) {
        handlers.withLock { $0[name] = handler }
    }

    /// The names registered so far.
    public var names: [String] { handlers.withLock { $0.keys.sorted() } }

    public func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        guard let name = spec["name"]?.stringValue else {
            return .failure(.permanent("handler action has no name"))
        }
        guard let handler = handlers.withLock({ $0[name] }) else {
            return .failure(
                .permanent("saga \(context.sagaID), step \(context.step): no handler registered under '\(name)'")
            )
        }
        var ctx = context
        if let input = spec["input"] { ctx.input = input }
        do {
            let output = try await handler(ctx)
            if context.phase == .probe {
                // A probe's answer is not the step's output: `true` carries none, `{"happened": true, "output": X}`
                // carries X.
                if output == false || output["happened"] == false { return .notHappened }
                if output == true { return .success(.null) }
                if output["happened"] == true { return .success(output["output"] ?? .null) }
            }
            return .success(output)
        } catch let failure as StepFailure {
            return .failure(failure)
        } catch is CancellationError {
            return .unknown("the handler was cancelled")
        } catch {
            return .failure(.retryable("\(error)"))
        }
    }
}
