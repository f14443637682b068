/// What a signal says about a waiting step: it succeeded with an output, or it failed.
public enum SagaSignalOutcome: Sendable, Hashable {
    /// The work the step started succeeded: `output` becomes the step's output.
    case output(JSONValue)
    /// The work failed. A `permanent` failure ends the step without retries; otherwise the step's retry policy
    /// decides (a new attempt calls the action again, with a new token).
    case error(String, permanent: Bool)

    /// The signal as it is journaled: `output`, or `error` and `retryable`.
    var fields: (output: JSONValue?, error: String?, retryable: Bool?) {
        switch self {
        case .output(let output): (output, nil, nil)
        case .error(let message, let permanent): (nil, message, !permanent)
        }
    }
}

/// What `SagaEngine.signal(sagaID:step:token:outcome:by:)` did.
public struct SagaSignalResult: Sendable {
    /// What became of the signal: `resolved` (the wait is over), `queued` (the attempt's call had not returned: it
    /// settles the step when it does), or `duplicate` (the same signal was already journaled: nothing written).
    public var disposition: String
    /// The attempt the token belongs to.
    public var attempt: Int
    /// The journal number of the signal's event (of the first one, for a duplicate).
    public var seq: Int
    /// The saga after the signal.
    public var record: SagaRecord
}
