public import Foundation
public import Logging

/// What an attempt knows about itself: passed to handlers and executors.
public struct StepContext: Sendable {
    public var sagaID: String
    public var workflow: String
    public var step: String
    public var phase: StepPhase
    /// 1-based, per phase.
    public var attempt: Int
    /// The same on every attempt of this saga, step and phase, and after a restart.
    public var idempotencyKey: String
    /// The saga's input.
    public var input: JSONValue
    /// Outputs of the steps that have succeeded, by name (for a compensation, including its own step's).
    public var outputs: [String: JSONValue]
    /// The folder of the workflow file, where commands run.
    public var baseDirectory: String?
    /// The attempt's timeout.
    public var timeout: Duration
    /// When the attempt's `*.started` event was journaled (set by the engine; `nil` in a context made elsewhere).
    public var startedAt: Date?
    /// The W3C `traceparent` of the attempt's span when the engine traces (``SagaTracer``): executors pass it on
    /// to the target (`http`: the `traceparent` header; `command`: `TRACEPARENT` in the environment).
    public var traceparent: String?
    /// The saga's trace (journaled at start, or derived from its id), set by the engine.
    public var sagaTrace: SagaTraceContext?
    /// The run span the attempt's span is a child of (set by the engine when it traces).
    var runSpan: (any SagaSpan)?
    /// The attempt's own span when the engine traces: executors add child spans for the calls they make (the `http`
    /// executor's request span) and send that child's `traceparent` instead of ``traceparent``.
    public var span: (any SagaSpan)?

    /// The attempt as the journal knows it, when ``startedAt`` is known: what its processes are marked with.
    public var attemptIdentity: AttemptIdentity? {
        startedAt.map { AttemptIdentity(sagaID: sagaID, step: step, phase: phase, attempt: attempt, startedAt: $0) }
    }
    /// Carries `saga.id`, `saga.step`, `saga.phase` and `saga.attempt` metadata.
    ///
    /// Built when read: most attempts never log, and setting metadata on a log handler costs more than a step.
    public var logger: Logger {
        get {
            var logger = baseLogger
            for (key, value) in attemptMetadata { logger[metadataKey: key] = value }
            return logger
        }
        set {
            baseLogger = newValue
            attemptMetadata = [:]
        }
    }

    private var baseLogger: Logger
    private var attemptMetadata: Logger.Metadata

    public init(
        sagaID: String,
        workflow: String,
        step: String,
        phase: StepPhase,
        attempt: Int,
        idempotencyKey: String,
        input: JSONValue,
        outputs: [String: JSONValue],
        baseDirectory: String?,
        timeout: Duration,
        logger: Logger
    ) {
        self.sagaID = sagaID
        self.workflow = workflow
        self.step = step
        self.phase = phase
        self.attempt = attempt
        self.idempotencyKey = idempotencyKey
        self.input = input
        self.outputs = outputs
        self.baseDirectory = baseDirectory
        self.timeout = timeout
        self.baseLogger = logger
        self.attemptMetadata = [:]
    }

    /// A context whose logger is `logger` with the attempt's metadata added when it is read.
    init(
        sagaID: String,
        workflow: String,
        step: String,
        phase: StepPhase,
        attempt: Int,
        idempotencyKey: String,
        input: JSONValue,
        outputs: [String: JSONValue],
        baseDirectory: String?,
        timeout: Duration,
        logger: Logger,
        metadata: Logger.Metadata
    ) {
        self.init(
            sagaID: sagaID, workflow: workflow, step: step, phase: phase, attempt: attempt,
            idempotencyKey: idempotencyKey, input: input, outputs: outputs, baseDirectory: baseDirectory,
            timeout: timeout, logger: logger
        )
        self.attemptMetadata = metadata
    }

    /// This step's own output (what a compensation undoes).
    public var output: JSONValue? { outputs[step] }

    /// The secrets of this attempt (values from `${env.…}`). The engine redacts the outcome, but an executor that
    /// cuts text (a snippet of a response, the tail of stderr) redacts it with this first, so that no cut piece of a
    /// secret is left for the engine to miss.
    public var redactor: SecretRedactor = .none

    /// Sets `redactor`, and makes everything logged through `logger` redacted with it.
    mutating func redact(with redactor: SecretRedactor) {
        self.redactor = redactor
        guard !redactor.isEmpty else { return }
        baseLogger.handler = RedactingLogHandler(wrapping: baseLogger.handler, redactor: redactor)
    }
}

/// How an attempt ended.
public enum StepOutcome: Sendable, Hashable {
    /// It took effect; the value becomes the step's output (for a probe: the effect happened).
    case success(JSONValue)
    /// It did not take effect.
    case failure(StepFailure)
    /// It may or may not have taken effect (a timeout after the request was sent, a killed command).
    case unknown(String)
    /// For probes only: the effect did not happen.
    case notHappened
}

/// A failed attempt: thrown by handlers, returned by executors.
public struct StepFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    /// `false` stops retrying at once.
    public var retryable: Bool
    /// The earliest the target wants to be called again.
    public var retryAfter: Duration?

    public init(_ message: String, retryable: Bool = true, retryAfter: Duration? = nil) {
        self.message = message
        self.retryable = retryable
        self.retryAfter = retryAfter
    }

    /// A failure worth retrying.
    public static func retryable(_ message: String, after: Duration? = nil) -> StepFailure {
        StepFailure(message, retryable: true, retryAfter: after)
    }

    /// A failure that no retry will fix.
    public static func permanent(_ message: String) -> StepFailure {
        StepFailure(message, retryable: false)
    }

    public var description: String { message }
}

/// Runs actions of one kind (`http`, `command`, `handler`).
public protocol StepExecutor: Sendable {
    /// Runs one attempt. `spec` is the action's specification with its templates resolved.
    ///
    /// Must return promptly when the task is cancelled (the engine cancels it when the attempt times out): a
    /// cancelled attempt's outcome is unknown.
    func execute(spec: JSONValue, context: StepContext) async -> StepOutcome

    /// Ends what is left of attempts of this kind that a worker which stopped (killed, or frozen past its lease)
    /// journaled as started but never finished, before the engine journals them as interrupted and moves on (and
    /// perhaps compensates them): when it returns, none of them should be able to act any more. The default does
    /// nothing (a handler died with its process; an HTTP request in flight cannot be recalled: see http.md for the
    /// rule a target keeps instead).
    func endOrphanedAttempts(_ attempts: [AttemptIdentity]) async
}

extension StepExecutor {
    public func endOrphanedAttempts(_ attempts: [AttemptIdentity]) async {}
}

/// A Swift step handler registered by the embedding program.
///
/// Return the step's output; throw a ``StepFailure`` to fail (retryable or not); any other error is a retryable
/// failure. A probe handler returns `true` or `{"happened": true}` when the effect happened, `false` or
/// `{"happened": false}` when it did not.
public typealias StepHandler = @Sendable (StepContext) async throws -> JSONValue
