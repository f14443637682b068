/// Makes spans for saga runs and attempts: the seam a tracing backend attaches to (`SagasTracing` implements it on
/// swift-distributed-tracing). Set it with `SagaEngine.use(tracer:)`; without one, nothing is traced.
///
/// A run span covers one worker's drive of a saga, parented on the saga's trace (``SagaTraceContext``); each attempt
/// (action, compensation, probe) gets a child span of its run, whose `traceparent` the executors pass on (the
/// `traceparent` header of `http` steps, `TRACEPARENT` in the environment of `command` steps). Like observers,
/// tracers must never block.
public protocol SagaTracer: Sendable {
    /// A span for a worker's run of a saga, child of `parent`.
    func startRun(sagaID: String, workflow: String, version: Int, parent: SagaTraceContext) -> any SagaSpan

    /// A span for one attempt, child of `run`.
    func startAttempt(_ context: StepContext, run: any SagaSpan) -> any SagaSpan
}

/// A span a ``SagaTracer`` started.
public protocol SagaSpan: Sendable {
    /// The span's own `traceparent`, to pass on to the target; `nil` when the backend does not propagate.
    var traceparent: String? { get }

    /// Ends the span. `outcome` is `succeeded`, `failed`, `unknown`, `interrupted` for attempts, the saga's status
    /// for runs; `error` is the (redacted) message of a failure.
    func end(outcome: String, error: String?)

    /// A child span, for work inside an attempt (the `http` executor's request); `nil` when the backend has none.
    func startChild(_ name: String, kind: SagaSpanKind) -> (any SagaSpan)?

    /// Sets an attribute; a backend without attributes ignores it.
    func setAttribute(_ key: String, _ value: SagaSpanAttribute)

    /// Ends a child span: `error` marks it failed with that (redacted) message.
    func end(error: String?)
}

/// What a span is, in OpenTelemetry's terms: the engine's own work (`internal`) or a call to another service
/// (`client`, such as an `http` step's request).
public enum SagaSpanKind: Sendable {
    case `internal`
    case client
}

/// A span attribute's value.
public enum SagaSpanAttribute: Sendable, Equatable {
    case string(String)
    case int(Int)
}

extension SagaSpan {
    /// A child span, for work inside an attempt (the `http` executor's request); `nil` when the backend has none.
    public func startChild(_ name: String, kind: SagaSpanKind) -> (any SagaSpan)? { nil }

    /// Sets an attribute; a backend without attributes ignores it.
    public func setAttribute(_ key: String, _ value: SagaSpanAttribute) {}

    /// Ends a child span: `error` marks it failed with that (redacted) message.
    public func end(error: String?) { end(outcome: error == nil ? "succeeded" : "failed", error: error) }
}
