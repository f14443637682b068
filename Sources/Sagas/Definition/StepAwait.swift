/// How a step that completes by callback waits: `"await": {"timeout": "24h"}` in a workflow file.
///
/// The step's action starts the work and passes on the attempt's callback token (`${step.token}`); once the
/// action's call returns successfully the step waits, durably and holding no worker, for a signal
/// (`SagaEngine.signal(sagaID:step:token:outcome:by:)`, `saga signal`, `POST /v1/sagas/{id}/steps/{step}/signal`)
/// or for `timeout` to pass. See Docs/workflow-format.md.
public struct StepAwait: Sendable, Hashable {
    /// How long the step waits for its signal after its action's call returned; a wait that times out is a
    /// retryable failure of the attempt.
    public var timeout: Duration

    public init(timeout: Duration) {
        self.timeout = timeout
    }

    /// The longest wait a workflow may declare: 365 days.
    public static let maximumTimeout: Duration = .seconds(365 * 24 * 3600)

    /// The wait as a workflow file writes it.
    var json: JSONValue { .object(["timeout": .string(SagaDuration.exact(timeout))]) }
}
