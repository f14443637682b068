public import Foundation

/// An intervention as `saga interventions --json` prints it and `GET /v1/interventions` returns it: what an
/// operator needs to decide (errors, attempts, age, the actions open to them, a suggestion). One shape.
public struct SagaInterventionView: Codable, Sendable, Hashable {
    /// `SAGA#SEQ`: what `saga resolve` takes.
    public var id: String
    public var saga: String
    public var workflow: String
    public var version: Int
    public var step: String
    public var phase: StepPhase
    public var reason: String
    public var lastError: String?
    /// Every error of the step and phase, oldest first.
    public var errors: [String]
    public var attempts: Int
    public var automaticRetries: Int
    /// What the reconciliation job may still try on its own (with the `--max-retries` the view was made for).
    public var automaticRetriesLeft: Int
    public var openedAt: Date
    public var ageSeconds: Int
    /// `retry`, `skip`, `abandon`: those open for this intervention.
    public var actions: [String]
    public var suggestion: String
    /// How it was settled; absent while it is open.
    public var resolution: SagaDetailView.Intervention.Resolution?

    /// The view of an intervention at `now`, where the reconciliation job allows `maxAutomaticRetries` unless the
    /// workflow sets its own.
    public init(
        _ summary: InterventionSummary,
        now: Date,
        maxAutomaticRetries: Int = ReconciliationPolicy().maxAutomaticRetries
    ) {
        let i = summary.intervention
        id = i.id
        saga = i.sagaID
        workflow = summary.workflow
        version = summary.version
        step = i.step
        phase = i.phase
        reason = i.reason
        lastError = summary.lastError
        errors = summary.errors
        attempts = summary.attempts
        automaticRetries = summary.automaticRetries
        automaticRetriesLeft = summary.automaticRetriesLeft(maxAutomaticRetries: maxAutomaticRetries)
        openedAt = i.openedAt
        ageSeconds = Int(max(0, min(now.timeIntervalSince(i.openedAt), 1e15)))
        actions = i.actions
        suggestion = summary.suggestion
        resolution = i.resolution.map { .init(action: $0.action, by: $0.by, note: $0.note, at: $0.at) }
    }

    enum CodingKeys: String, CodingKey {
        case id, saga, workflow, version, step, phase, reason, lastError, errors, attempts, automaticRetries
        case automaticRetriesLeft, openedAt, ageSeconds, actions, suggestion, resolution
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(saga, forKey: .saga)
        try c.encode(workflow, forKey: .workflow)
        try c.encode(version, forKey: .version)
        try c.encode(step, forKey: .step)
        try c.encode(phase.rawValue, forKey: .phase)
        try c.encode(reason, forKey: .reason)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(errors, forKey: .errors)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(automaticRetries, forKey: .automaticRetries)
        try c.encode(automaticRetriesLeft, forKey: .automaticRetriesLeft)
        try c.encode(SagaTime.format(openedAt), forKey: .openedAt)
        try c.encode(ageSeconds, forKey: .ageSeconds)
        try c.encode(actions, forKey: .actions)
        try c.encode(suggestion, forKey: .suggestion)
        try c.encodeIfPresent(resolution, forKey: .resolution)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        saga = try c.decode(String.self, forKey: .saga)
        workflow = try c.decode(String.self, forKey: .workflow)
        version = try c.decode(Int.self, forKey: .version)
        step = try c.decode(String.self, forKey: .step)
        phase = try c.decode(StepPhase.self, forKey: .phase)
        reason = try c.decode(String.self, forKey: .reason)
        lastError = try c.decodeIfPresent(String.self, forKey: .lastError)
        errors = try c.decode([String].self, forKey: .errors)
        attempts = try c.decode(Int.self, forKey: .attempts)
        automaticRetries = try c.decode(Int.self, forKey: .automaticRetries)
        automaticRetriesLeft = try c.decode(Int.self, forKey: .automaticRetriesLeft)
        openedAt = try SagaTime.decode(c, .openedAt)
        ageSeconds = try c.decode(Int.self, forKey: .ageSeconds)
        actions = try c.decode([String].self, forKey: .actions)
        suggestion = try c.decode(String.self, forKey: .suggestion)
        resolution = try c.decodeIfPresent(SagaDetailView.Intervention.Resolution.self, forKey: .resolution)
    }
}
