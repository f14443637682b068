public import Sagas
import Synchronization

/// One call of a step handler, as a ``HandlerRecorder`` saw it.
public struct HandlerInvocation: Sendable, Hashable {
    /// The name the handler was registered under.
    public var handler: String
    public var sagaID: String
    public var step: String
    public var phase: StepPhase
    public var attempt: Int
    public var idempotencyKey: String
    /// What the handler received as input (the action's `input`, or the saga's input).
    public var input: JSONValue
    /// The step's own output as the handler saw it (`context.output`): what a compensation undoes.
    public var output: JSONValue?

    public init(handler: String, context: StepContext) {
        self.handler = handler
        self.sagaID = context.sagaID
        self.step = context.step
        self.phase = context.phase
        self.attempt = context.attempt
        self.idempotencyKey = context.idempotencyKey
        self.input = context.input
        self.output = context.output
    }
}

/// Records every handler call, in the order the calls began, and how many ran at once.
///
/// Thread-safe: handlers run concurrently on the engine's tasks.
public final class HandlerRecorder: Sendable {
    private struct State {
        var invocations: [HandlerInvocation] = []
        var running = 0
        var peak = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Records a call without counting it as running (for handlers that record themselves).
    public func record(_ handler: String, _ context: StepContext) {
        let invocation = HandlerInvocation(handler: handler, context: context)
        state.withLock { $0.invocations.append(invocation) }
    }

    /// Every call so far, in the order they began.
    public var invocations: [HandlerInvocation] { state.withLock { $0.invocations } }

    /// The calls of one handler.
    public func invocations(of handler: String) -> [HandlerInvocation] {
        invocations.filter { $0.handler == handler }
    }

    /// The calls for one step and phase.
    public func invocations(step: String, phase: StepPhase) -> [HandlerInvocation] {
        invocations.filter { $0.step == step && $0.phase == phase }
    }

    /// How many recorded calls were running at this moment.
    public var running: Int { state.withLock { $0.running } }

    /// The most recorded calls that ran at the same time.
    public var peakConcurrency: Int { state.withLock { $0.peak } }

    /// Wraps a handler so that each call is recorded and counted as running until it returns or throws.
    ///
    /// - Parameters:
    ///   - name: recorded as ``HandlerInvocation/handler``.
    ///   - body: the handler to run.
    public func recording(_ name: String, _ body: @escaping StepHandler) -> StepHandler {
        { context in
            let invocation = HandlerInvocation(handler: name, context: context)
            self.state.withLock { s in
                s.invocations.append(invocation)
                s.running += 1
                s.peak = max(s.peak, s.running)
            }
            defer { self.state.withLock { $0.running -= 1 } }
            return try await body(context)
        }
    }
}

/// What a scripted handler does on one attempt.
public indirect enum ScriptedOutcome: Sendable {
    /// Returns this output.
    case succeed(JSONValue)
    /// Throws this failure (retryable or permanent).
    case fail(StepFailure)
    /// Throws an error that is not a ``StepFailure`` (the engine treats it as retryable), described by the message.
    case error(String)
    /// Sleeps until the task is cancelled (at most an hour), then throws `CancellationError`: an attempt that
    /// times out.
    case hang
    /// Waits for the signal (at most `timeout`), then does the next outcome.
    case waitFor(TestSignal, timeout: Duration, then: ScriptedOutcome)
    /// Fires the signal, then does the next outcome.
    case fire(TestSignal, then: ScriptedOutcome)
}

/// An error with a message, thrown by ``ScriptedOutcome/error(_:)``.
public struct ScriptedError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Step handlers whose behaviour is scripted per attempt.
public enum ScriptedHandler {
    /// A handler that does `outcomes[attempt - 1]` on each attempt, and `otherwise` once the script runs out.
    ///
    /// The script is keyed by `context.attempt`, so it behaves the same when an attempt is re-run after a restart.
    public static func make(_ outcomes: [ScriptedOutcome], otherwise: ScriptedOutcome = .succeed(.null))
        -> StepHandler
    {
        { context in
            let i = context.attempt - 1
            let outcome = i >= 0 && i < outcomes.count ? outcomes[i] : otherwise
            return try await perform(outcome)
        }
    }

    /// Does one outcome.
    public static func perform(_ outcome: ScriptedOutcome) async throws -> JSONValue {
        switch outcome {
        case .succeed(let value):
            return value
        case .fail(let failure):
            throw failure
        case .error(let message):
            throw ScriptedError(message)
        case .hang:
            try await Task.sleep(for: .seconds(3600))
            throw CancellationError()
        case .waitFor(let signal, let timeout, let next):
            _ = await signal.wait(timeout: timeout)
            return try await perform(next)
        case .fire(let signal, let next):
            signal.fire()
            return try await perform(next)
        }
    }
}

/// A one-shot signal: tasks wait until it fires (or they are cancelled, or a timeout passes).
public final class TestSignal: Sendable {
    private struct State {
        var fired = false
        var next: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Whether the signal has fired.
    public var isFired: Bool { state.withLock { $0.fired } }

    /// Fires the signal, waking every waiter; later calls do nothing.
    public func fire() {
        let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            guard !s.fired else { return [] }
            s.fired = true
            let waiters = Array(s.waiters.values)
            s.waiters.removeAll()
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the signal fires or the task is cancelled; returns whether it fired.
    @discardableResult
    public func wait() async -> Bool {
        let id = state.withLock { s -> UInt64 in
            s.next += 1
            return s.next
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.fired || Task.isCancelled { return true }
                    s.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
        return isFired
    }

    /// Waits until the signal fires, at most `timeout`; returns whether it fired.
    @discardableResult
    public func wait(timeout: Duration) async -> Bool {
        if isFired { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.wait() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first || self.isFired
        }
    }
}
