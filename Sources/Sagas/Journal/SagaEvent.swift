public import Foundation

/// The status of a saga.
public enum SagaStatus: String, Sendable, Hashable, CaseIterable, Codable {
    /// Journaled, not yet picked up by a worker.
    case pending
    /// Running its steps forward.
    case running
    /// Undoing the steps that may have taken effect, in reverse order.
    case compensating
    /// Every step succeeded.
    case completed
    /// A step failed (or the saga was cancelled) and every compensation succeeded.
    case compensated
    /// A compensation, or a step after the pivot, failed for good: a person must act.
    case needsIntervention = "needs_intervention"
    /// An operator gave up on the remaining compensations.
    case failed
    /// Every path that can run is waiting (for a signal, a wait's timeout or a timer): no worker holds it until
    /// its wake time (`SagaRecord.wakeAt`) or a signal or cancel request makes it runnable again.
    case waiting

    /// Terminal statuses never change again.
    public var isTerminal: Bool {
        switch self {
        case .completed, .compensated, .failed: true
        default: false
        }
    }

    /// Statuses a worker picks up and drives.
    public var isRunnable: Bool {
        switch self {
        case .pending, .running, .compensating: true
        default: false
        }
    }
}

/// The type of a journal event. The raw values are the names `saga show --json` prints.
public enum SagaEventType: String, Sendable, Hashable, CaseIterable, Codable {
    case sagaStarted = "saga.started"
    case stepStarted = "step.started"
    case stepSucceeded = "step.succeeded"
    case stepFailed = "step.failed"
    /// The attempt may or may not have taken effect (a timeout, or a worker that stopped mid-attempt).
    case stepUnknown = "step.unknown"
    case probeStarted = "probe.started"
    /// The probe found that the step's effect happened.
    case probeHappened = "probe.happened"
    /// The probe found that the step's effect did not happen.
    case probeNotHappened = "probe.not_happened"
    /// The probe could not tell.
    case probeFailed = "probe.failed"
    case compensationStarted = "compensation.started"
    case compensationSucceeded = "compensation.succeeded"
    case compensationFailed = "compensation.failed"
    case compensationUnknown = "compensation.unknown"
    case cancelRequested = "saga.cancel_requested"
    /// The saga stopped going forward and began compensating; `error` says why.
    case sagaCompensating = "saga.compensating"
    case sagaCompleted = "saga.completed"
    case sagaCompensated = "saga.compensated"
    case sagaNeedsIntervention = "saga.needs_intervention"
    /// An operator, or the reconciliation job, settled an intervention; `data` says how (`action`: `retry`, `skip`
    /// or `abandon`), by whom (`by`) and why (`note`).
    case interventionResolved = "intervention.resolved"
    /// An operator abandoned the remaining compensations: the saga ends here.
    case sagaFailed = "saga.failed"
    /// An operator stopped the saga without compensating (`saga terminate`): it ends `failed` whatever its state;
    /// `error` says why and `data.by` who.
    case sagaTerminated = "saga.terminated"
    /// A rerun (`saga rerun --from STEP`) carries over a step that succeeded in the saga it reruns: the step counts
    /// as succeeded with that `output`, without running again; `data.from` names the original saga.
    case stepReused = "step.reused"
    /// A step with `await` (or a timer) began to wait: its action's call returned; `data.until` is the deadline.
    case stepWaiting = "step.waiting"
    /// A signal for a waiting step (or one whose action's call has not returned yet): `output`, or `error` with
    /// `retryable`; `data.by` says who sent it.
    case stepSignalled = "step.signalled"
    /// A wait's deadline passed with no signal: the attempt failed (retryable).
    case stepWaitTimedOut = "step.wait_timed_out"
    /// A durable timer (`sleep`, `sleepUntil`) reached its time: the step succeeded.
    case stepTimerFired = "step.timer_fired"
}

/// One entry of a saga's journal.
///
/// Events are numbered from 1 without gaps within a saga; the store refuses a duplicate number. Which fields are set
/// depends on the type: step events carry `step` and `attempt`; outcomes carry `durationMs`, and `output` or `error`.
public struct SagaEvent: Sendable, Hashable {
    public var seq: Int
    public var at: Date
    public var type: SagaEventType
    public var step: String?
    public var attempt: Int?
    public var output: JSONValue?
    public var error: String?
    /// For failures: whether the attempt may be retried.
    public var retryable: Bool?
    /// For outcomes: how long the attempt ran.
    public var durationMs: Int?
    /// For failures: the earliest the target asked to be called again (`Retry-After`).
    public var retryAfterMs: Int?
    /// For attempts: the idempotency key the attempt carried.
    public var idempotencyKey: String?
    /// Anything else (`saga.started` carries `{"input": …}`).
    public var data: JSONValue?

    public init(
        seq: Int,
        at: Date,
        type: SagaEventType,
        step: String? = nil,
        attempt: Int? = nil,
        output: JSONValue? = nil,
        error: String? = nil,
        retryable: Bool? = nil,
        durationMs: Int? = nil,
        retryAfterMs: Int? = nil,
        idempotencyKey: String? = nil,
        data: JSONValue? = nil
    ) {
        self.seq = seq
        self.at = at
        self.type = type
        self.step = step
        self.attempt = attempt
        self.output = output
        self.error = error
        self.retryable = retryable
        self.durationMs = durationMs
        self.retryAfterMs = retryAfterMs
        self.idempotencyKey = idempotencyKey
        self.data = data
    }
}

extension SagaEvent {
    /// The fields other than `seq`, `at`, `type` and `step`, as one JSON object (how stores keep them).
    public var payload: JSONValue {
        var o: [String: JSONValue] = [:]
        if let attempt { o["attempt"] = .integer(attempt) }
        if let output { o["output"] = output }
        if let error { o["error"] = .string(error) }
        if let retryable { o["retryable"] = .bool(retryable) }
        if let durationMs { o["durationMs"] = .integer(durationMs) }
        if let retryAfterMs { o["retryAfterMs"] = .integer(retryAfterMs) }
        if let idempotencyKey { o["idempotencyKey"] = .string(idempotencyKey) }
        if let data { o["data"] = data }
        return .object(o)
    }

    /// Rebuilds an event from the columns a store keeps.
    public init(seq: Int, at: Date, type: SagaEventType, step: String?, payload: JSONValue) {
        self.init(
            seq: seq,
            at: at,
            type: type,
            step: step,
            attempt: payload["attempt"]?.intValue,
            output: payload["output"],
            error: payload["error"]?.stringValue,
            retryable: payload["retryable"]?.boolValue,
            durationMs: payload["durationMs"]?.intValue,
            retryAfterMs: payload["retryAfterMs"]?.intValue,
            idempotencyKey: payload["idempotencyKey"]?.stringValue,
            data: payload["data"]
        )
    }

    /// Whether the event journals an interrupted attempt: one whose worker stopped before its outcome was journaled,
    /// recorded as such (`step.unknown`, `compensation.unknown` or `probe.failed` with `data.interrupted: true`) by
    /// the worker that took the saga over. Interrupted attempts do not use up the step's retries (a separate cap,
    /// `SagaStateMachine.maxInterruptions`, stops a step that keeps killing its worker). Journals written before the
    /// marker existed carry only the error text "interrupted: …", and replay as they were decided then: as
    /// ordinary unknown outcomes.
    public var isInterruption: Bool {
        switch type {
        case .stepUnknown, .compensationUnknown, .probeFailed: data?["interrupted"]?.boolValue == true
        default: false
        }
    }

    /// The `data` that marks an interrupted attempt.
    public static let interruptionData: JSONValue = ["interrupted": true]

    /// The event as `saga show --json` prints it.
    public var json: JSONValue {
        var o: [String: JSONValue] = [
            "seq": .integer(seq),
            "at": .string(SagaTime.format(at)),
            "type": .string(type.rawValue),
        ]
        if let step { o["step"] = .string(step) }
        if case .object(let p) = payload {
            for (k, v) in p { o[k] = v }
        }
        // A callback token is a credential: never printed.
        if case .object(var d)? = o["data"], d.removeValue(forKey: SagaEvent.waitTokenKey) != nil {
            if d.isEmpty { o.removeValue(forKey: "data") } else { o["data"] = .object(d) }
        }
        return .object(o)
    }
}

/// Timestamps as the journal and the CLI write them: ISO 8601 UTC with milliseconds.
///
/// Every conversion clamps to years 0001 through 9999 (`range`): a time read from a damaged or hostile database
/// (`created_at` at the Int64 extremes, a `lease_expires_at` far in the future) is shown as the nearest end of that
/// range instead of trapping in a conversion, and arithmetic on the dates it gives cannot overflow.
public enum SagaTime {
    /// The milliseconds since 1970 a time may have: 0001-01-01T00:00:00.000Z through 9999-12-31T23:59:59.999Z.
    public static let range: ClosedRange<Int64> = -62_135_596_800_000...253_402_300_799_999

    public static func format(_ date: Date) -> String {
        let ms = milliseconds(date)
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        let millis = ms - seconds * 1000
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Milliseconds since 1970, as stores keep times, clamped to `range` (NaN gives 0).
    public static func milliseconds(_ date: Date) -> Int64 {
        let ms = (date.timeIntervalSince1970 * 1000).rounded()
        guard !ms.isNaN else { return 0 }
        if ms <= Double(range.lowerBound) { return range.lowerBound }
        if ms >= Double(range.upperBound) { return range.upperBound }
        return Int64(ms)
    }

    /// The time `milliseconds` since 1970 names, clamped to `range`.
    public static func date(milliseconds: Int64) -> Date {
        let clamped = min(max(milliseconds, range.lowerBound), range.upperBound)
        return Date(timeIntervalSince1970: Double(clamped) / 1000)
    }
}
