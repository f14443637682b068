import Foundation
import Logging
import Sagas
import SagasTesting
import Testing

/// Builders shared by the state machine and engine tests.
enum TestSupport {
    /// A logger that drops everything, without bootstrapping logging.
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Retries fast enough for the real clock: 1ms doubling to at most 10ms, no jitter.
    static func fastRetry(_ maxAttempts: Int) -> RetryPolicy {
        RetryPolicy(
            maxAttempts: maxAttempts,
            initialInterval: .milliseconds(1),
            backoffCoefficient: 2,
            maxInterval: .milliseconds(10),
            jitter: .none
        )
    }

    /// A step whose action (and compensation and probe, when asked) call handlers named after the step:
    /// `NAME`, `NAME.undo` and `NAME.probe`.
    static func step(
        _ name: String,
        after: [String],
        compensation: Bool = true,
        probe: Bool = false,
        input: JSONValue? = nil,
        retry: RetryPolicy = fastRetry(3),
        compensationRetry: RetryPolicy = fastRetry(3),
        timeout: Duration = .seconds(10),
        kind: StepKind = .compensable
    ) -> SagaStep {
        SagaStep(
            name: name,
            action: .handler(name, input: input),
            compensation: compensation ? .handler("\(name).undo") : nil,
            probe: probe ? .handler("\(name).probe") : nil,
            retry: retry,
            compensationRetry: compensationRetry,
            timeout: timeout,
            after: after,
            kind: kind
        )
    }

    /// Steps that run one after the other, each with a compensation.
    static func linear(_ names: [String], retry: RetryPolicy = fastRetry(3)) -> [SagaStep] {
        names.enumerated().map { i, name in
            step(name, after: i == 0 ? [] : [names[i - 1]], retry: retry)
        }
    }

    static func definition(_ steps: [SagaStep], name: String = "order", input: InputSchema? = nil) -> SagaDefinition {
        SagaDefinition(name: name, version: 1, input: input, steps: steps)
    }

    /// An engine over `store` with a fixed worker id, fast polling and an empty environment.
    static func engine(
        store: any SagaStore = MemorySagaStore(),
        workerID: String = "test:1:1",
        concurrency: Int = 4,
        environment: [String: String] = [:]
    ) -> SagaEngine {
        SagaEngine(
            store: store,
            configuration: .init(
                workerID: workerID,
                leaseDuration: .seconds(30),
                concurrency: concurrency,
                pollInterval: .milliseconds(10),
                environment: environment
            ),
            logger: logger
        )
    }

    /// Registers a recorded handler that succeeds with `output` (by default `{"step": NAME}`).
    static func succeed(
        _ engine: SagaEngine,
        _ recorder: HandlerRecorder,
        _ names: [String],
        output: ((String) -> JSONValue)? = nil
    ) {
        for name in names {
            let value = output?(name) ?? ["step": .string(name)]
            engine.register(handler: name, recorder.recording(name) { _ in value })
        }
    }

    /// Registers a recorded handler that follows a per-attempt script.
    static func script(
        _ engine: SagaEngine,
        _ recorder: HandlerRecorder,
        _ name: String,
        _ outcomes: [ScriptedOutcome],
        otherwise: ScriptedOutcome = .succeed(.null)
    ) {
        engine.register(handler: name, recorder.recording(name, ScriptedHandler.make(outcomes, otherwise: otherwise)))
    }

    /// The journal as `type` or `type:step` strings.
    static func trace(_ events: [SagaEvent]) -> [String] {
        events.map { e in e.step.map { "\(e.type.rawValue):\($0)" } ?? e.type.rawValue }
    }

    static func trace(_ engine: SagaEngine, _ sagaID: String) async throws -> [String] {
        trace(try await engine.store.events(sagaID: sagaID))
    }

    /// Polls until `condition` holds, at most `timeout`; returns whether it held. For state only a store shows.
    static func eventually(
        timeout: Duration = .seconds(30),
        _ condition: @Sendable () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return try await condition()
    }
}

/// Drives a ``SagaStateMachine`` by hand: numbers events, advances a fake clock, and applies them.
struct MachineDriver {
    var machine: SagaStateMachine
    var events: [SagaEvent] = []
    /// The time of the next event; every event advances it by 10ms.
    var now: Date = SagaFixtures.epoch

    init(_ definition: SagaDefinition, sagaID: String = "saga-1", input: JSONValue = ["orderId": "o-1"]) throws {
        machine = SagaStateMachine(sagaID: sagaID, definition: definition)
        try emit(.sagaStarted, data: ["input": input])
    }

    var decisions: [SagaDecision] { machine.decide(now: now) }

    func decide(at date: Date) -> [SagaDecision] { machine.decide(now: date) }

    /// Applies the next event; on success it is kept in `events`.
    mutating func emit(
        _ type: SagaEventType,
        _ step: String? = nil,
        attempt: Int? = nil,
        output: JSONValue? = nil,
        error: String? = nil,
        retryable: Bool? = nil,
        retryAfterMs: Int? = nil,
        data: JSONValue? = nil
    ) throws {
        let event = SagaEvent(
            seq: machine.lastSeq + 1,
            at: now,
            type: type,
            step: step,
            attempt: attempt,
            output: output,
            error: error,
            retryable: retryable,
            retryAfterMs: retryAfterMs,
            idempotencyKey: step.map { s in
                let phase: StepPhase? =
                    switch type {
                    case .stepStarted: .action
                    case .compensationStarted: .compensation
                    case .probeStarted: .probe
                    default: nil
                    }
                return phase.map { SagaStateMachine.idempotencyKey(sagaID: machine.sagaID, step: s, phase: $0) }
            } ?? nil,
            data: data
        )
        try machine.apply(event)
        events.append(event)
        now = now.addingTimeInterval(0.010)
    }

    /// `step.started` then `step.succeeded` for the attempt the machine expects next.
    mutating func succeed(_ step: String, output: JSONValue? = nil) throws {
        let attempt = (machine.state(of: step)?.attempts ?? 0) + 1
        try emit(.stepStarted, step, attempt: attempt)
        try emit(.stepSucceeded, step, attempt: attempt, output: output ?? ["step": .string(step)])
    }

    /// `step.started` then `step.failed`.
    mutating func fail(_ step: String, error: String = "boom", retryable: Bool = true) throws {
        let attempt = (machine.state(of: step)?.attempts ?? 0) + 1
        try emit(.stepStarted, step, attempt: attempt)
        try emit(.stepFailed, step, attempt: attempt, error: error, retryable: retryable)
    }

    /// `compensation.started` then `compensation.succeeded`.
    mutating func compensate(_ step: String) throws {
        let attempt = (machine.state(of: step)?.compensationAttempts ?? 0) + 1
        try emit(.compensationStarted, step, attempt: attempt)
        try emit(.compensationSucceeded, step, attempt: attempt)
    }
}
