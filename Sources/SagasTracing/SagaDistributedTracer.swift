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
/// - `PHASE STEP` (`action charge`, `compensation reserve`, `probe charge`; internal kind) for each attempt, child
///   of its run. Attributes `saga.id`, `saga.workflow`, `saga.step`, `saga.phase`, `saga.attempt`, `saga.outcome`
///   (`succeeded`, `failed`, `unknown`, `interrupted`); a failed or unknown outcome sets the span's status to error
///   with the (redacted) message. A `command` step gets its `traceparent` as `TRACEPARENT`.
/// - `METHOD` (client kind) for an `http` step's request, child of its attempt, with the OpenTelemetry HTTP client
///   attributes (`http.request.method`, `server.address`, `server.port`, `url.full` with secrets redacted,
///   `network.peer.address`, `http.response.status_code`, `error.type`); its `traceparent` is the header sent.
///
/// `sampler` decides per run before any span is made (``SagaTraceSampler``): a run that is not sampled and its
/// attempts make no span; they pass on the saga's trace with the not-sampled flag.
public struct SagaDistributedTracer: SagaTracer {
    private let tracer: any Tracer
    private let sampler: SagaTraceSampler

    /// Spans through `tracer` (default: the bootstrapped `InstrumentationSystem.tracer`) for the runs `sampler`
    /// keeps (default: every one).
    public init(tracer: any Tracer = InstrumentationSystem.tracer, sampler: SagaTraceSampler = .alwaysOn) {
        self.tracer = tracer
        self.sampler = sampler
    }

    public func startRun(sagaID: String, workflow: String, version: Int, parent: SagaTraceContext) -> any SagaSpan {
        if sampler != .alwaysOn && !sampler.isSampled(sagaID: sagaID, parent: parent) {
            return UnsampledSpan(traceID: parent.traceID, spanID: parent.spanID)
        }
        var context = ServiceContext.topLevel
        tracer.extract(["traceparent": parent.traceparent], into: &context, using: HeaderExtractor())
        let span = tracer.startSpan("saga \(workflow)", context: context, ofKind: .internal)
        span.attributes["saga.id"] = sagaID
        span.attributes["saga.workflow"] = workflow
        span.attributes["saga.version"] = SpanAttribute.int64(Int64(version))
        return TracedSpan(span: span, tracer: tracer, role: .run)
    }

    public func startAttempt(_ context: StepContext, run: any SagaSpan) -> any SagaSpan {
        if let run = run as? UnsampledSpan {
            let spanID = SagaTraceContext.derivedSpanID(
                "\(context.sagaID)\u{0}\(context.step)\u{0}\(context.phase.rawValue)\u{0}\(context.attempt)"
            )
            return UnsampledSpan(traceID: run.traceID, spanID: spanID)
        }
        var parent = ServiceContext.topLevel
        if let run = run as? TracedSpan {
            parent = run.span.context
        } else if let trace = context.sagaTrace {
            tracer.extract(["traceparent": trace.traceparent], into: &parent, using: HeaderExtractor())
        }
        let span = tracer.startSpan("\(context.phase.rawValue) \(context.step)", context: parent, ofKind: .internal)
        span.attributes["saga.id"] = context.sagaID
        span.attributes["saga.workflow"] = context.workflow
        span.attributes["saga.step"] = context.step
        span.attributes["saga.phase"] = context.phase.rawValue
        span.attributes["saga.attempt"] = SpanAttribute.int64(Int64(context.attempt))
        return TracedSpan(span: span, tracer: tracer, role: .attempt)
    }
}

/// A swift-distributed-tracing span behind the engine's ``SagaSpan``.
struct TracedSpan: SagaSpan {
    enum Role { case run, attempt, child }

    let span: any Span
    let tracer: any Tracer
    let role: Role

    var traceparent: String? {
        var headers: [String: String] = [:]
        tracer.inject(span.context, into: &headers, using: HeaderInjector())
        return headers["traceparent"]
    }

    func end(outcome: String, error: String?) {
        switch role {
        case .run: span.attributes["saga.status"] = outcome
        case .attempt: span.attributes["saga.outcome"] = outcome
        case .child: break
        }
        if let error, outcome != "succeeded" {
            span.setStatus(SpanStatus(code: .error, message: error))
        }
        span.end()
    }

    func startChild(_ name: String, kind: SagaSpanKind) -> (any SagaSpan)? {
        let child = tracer.startSpan(name, context: span.context, ofKind: kind == .client ? .client : .internal)
        return TracedSpan(span: child, tracer: tracer, role: .child)
    }

    func setAttribute(_ key: String, _ value: SagaSpanAttribute) {
        switch value {
        case .string(let text): span.attributes[key] = text
        case .int(let number): span.attributes[key] = SpanAttribute.int64(Int64(number))
        }
    }

    func end(error: String?) {
        end(outcome: error == nil ? "succeeded" : "failed", error: error)
    }
}

/// A run or attempt the sampler dropped: no span, only the trace to pass on, marked not sampled (`-00`).
struct UnsampledSpan: SagaSpan {
    let traceID: String
    let spanID: String

    var traceparent: String? { "00-\(traceID)-\(spanID)-00" }

    func end(outcome: String, error: String?) {}
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
