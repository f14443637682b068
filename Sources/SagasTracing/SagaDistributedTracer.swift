public import Instrumentation
public import Sagas
public import Tracing

/// Traces saga runs and attempts through swift-distributed-tracing: attach it with
/// `engine.use(tracer: SagaDistributedTracer())`, after the process bootstrapped a tracer (for example swift-otel's).
///
/// Spans:
/// - `saga WORKFLOW` (internal) for one worker's run of a saga, child of the saga's trace: the `traceparent` it was
///   started with (journaled in `saga.started`), or the trace derived from its id; a saga that another worker
///   resumes after a crash so stays in one trace. Attributes `saga.id`, `saga.workflow`, `saga.version`, and
///   `saga.status` when it ends.
/// - `PHASE STEP` (`action charge`, `compensation reserve`, `probe charge`; client kind) for each attempt, child of
///   its run. Attributes `saga.id`, `saga.workflow`, `saga.step`, `saga.phase`, `saga.attempt`, `saga.outcome`
///   (`succeeded`, `failed`, `unknown`, `interrupted`); a failed or unknown outcome sets the span's status to error
///   with the (redacted) message. Its `traceparent` goes to the target.
public struct SagaDistributedTracer: SagaTracer {
    private let tracer: any Tracer

    /// Spans through `tracer` (default: the bootstrapped `InstrumentationSystem.tracer`).
    public init(tracer: any Tracer = InstrumentationSystem.tracer) {
        self.tracer = tracer
    }

    public func startRun(sagaID: String, workflow: String, version: Int, parent: SagaTraceContext) -> any SagaSpan {
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": parent.traceparent], into: &context, using: HeaderExtractor())
        let span = tracer.startSpan("saga \(workflow)", context: context, ofKind: .internal)
        span.attributes["saga.id"] = sagaID
        span.attributes["saga.workflow"] = workflow
        span.attributes["saga.version"] = SpanAttribute.int64(Int64(version))
        return TracedSpan(span: span, tracer: tracer, isRun: true)
    }

    public func startAttempt(_ context: StepContext, run: any SagaSpan) -> any SagaSpan {
        var parent = ServiceContext.topLevel
        if let run = run as? TracedSpan {
            parent = run.span.context
        } else if let trace = context.sagaTrace {
            tracer.extract(["traceparent": trace.traceparent], into: &parent, using: HeaderExtractor())
        }
        let span = tracer.startSpan("\(context.phase.rawValue) \(context.step)", context: parent, ofKind: .client)
        span.attributes["saga.id"] = context.sagaID
        span.attributes["saga.workflow"] = context.workflow
        span.attributes["saga.step"] = context.step
        span.attributes["saga.phase"] = context.phase.rawValue
        span.attributes["saga.attempt"] = SpanAttribute.int64(Int64(context.attempt))
        return TracedSpan(span: span, tracer: tracer, isRun: false)
    }
}

/// A swift-distributed-tracing span behind the engine's ``SagaSpan``.
struct TracedSpan: SagaSpan {
    let span: any Span
    let tracer: any Tracer
    let isRun: Bool

    var traceparent: String? {
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: HeaderInjector())
        return headers["traceparent"]
    }

    func end(outcome: String, error: String?) {
        span.attributes[isRun ? "saga.status" : "saga.outcome"] = outcome
        if let error, outcome != "succeeded" {
            span.setStatus(SpanStatus(code: .error, message: error))
        }
        span.end()
    }
}

struct HeaderExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}

struct HeaderInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}
