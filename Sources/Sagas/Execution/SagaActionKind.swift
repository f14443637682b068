public import Logging

/// One kind of step action: the key of `{"KIND": SPEC}` in a workflow file, the rules its spec follows, and what
/// runs it.
///
/// A kind owns its spec: the workflow decoder knows no kind's fields. At load time it hands each action's spec,
/// with the position of every value and key, to the kind registered under its key (``SagaActionKinds``); the kind
/// reports each problem through the checker at the position it is about. When the saga runs, the engine hands
/// the spec, its templates resolved, to the executor the kind made.
///
/// The core registers `handler` and the timers `sleep` and `sleepUntil`; `SagasHTTP` provides `HTTPActionKind`,
/// `SagasCommand` `CommandActionKind`. An embedder adds its own kind by conforming to this protocol and
/// registering it with ``SagaEngine/register(kind:)`` and with the loader (``WorkflowLoader``,
/// ``WorkflowCatalog``) through ``SagaActionKinds``.
public protocol SagaActionKind: Sendable {
    /// The key that names the kind in a workflow file (`http`, `command`, …).
    var name: StepAction.Kind { get }

    /// Checks one spec at load time: report every problem with `checker.error(_:at:)` (or `warning`) at the node it
    /// is about, never by throwing. `spec` is the value under the kind's key, with positions.
    ///
    /// The spec is valid when no error was reported; its templates are checked by the decoder afterwards.
    func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker)

    /// The executor that runs this kind's actions, made when the kind is registered with an engine.
    ///
    /// - Returns: `nil` when the engine runs the kind itself (handlers, timers) or the kind only validates (a
    ///   registry for `saga validate`).
    func makeExecutor(configuration: SagaEngine.Configuration, logger: Logger) -> (any StepExecutor)?
}

extension SagaActionKind {
    public func makeExecutor(configuration: SagaEngine.Configuration, logger: Logger) -> (any StepExecutor)? { nil }
}
