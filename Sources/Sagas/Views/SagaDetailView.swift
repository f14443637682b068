public import Foundation

/// A saga whole: what `saga show --json` and `saga run --json` print and `GET /v1/sagas/{id}` returns. The summary's
/// fields (``SagaSummaryView``) at the top level, then the input, the steps, the waits, the interventions and the
/// journal. One shape, documented in Docs/cli.md.
public struct SagaDetailView: Codable, Sendable, Hashable {
    /// One step as the journal leaves it.
    public struct Step: Codable, Sendable, Hashable {
        public var name: String
        /// `pending`, `running`, `waiting`, `succeeded`, `failed`, `compensating`, `compensated`, …
        public var status: String
        public var attempts: Int
        public var compensationAttempts: Int
        public var probeAttempts: Int
        public var output: JSONValue?
        public var error: String?
        /// The attempt that waits (a step with `await`, or a timer), and until when; both absent otherwise.
        public var waitingAttempt: Int?
        public var waitingUntil: Date?

        enum CodingKeys: String, CodingKey {
            case name, status, attempts, compensationAttempts, probeAttempts, output, error, waitingAttempt, waitingUntil
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(status, forKey: .status)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(compensationAttempts, forKey: .compensationAttempts)
            try c.encode(probeAttempts, forKey: .probeAttempts)
            try c.encode(output ?? .null, forKey: .output)
            try c.encode(error, forKey: .error)
            if let waitingAttempt, let waitingUntil {
                try c.encode(waitingAttempt, forKey: .waitingAttempt)
                try c.encode(SagaTime.format(waitingUntil), forKey: .waitingUntil)
            }
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            status = try c.decode(String.self, forKey: .status)
            attempts = try c.decode(Int.self, forKey: .attempts)
            compensationAttempts = try c.decode(Int.self, forKey: .compensationAttempts)
            probeAttempts = try c.decode(Int.self, forKey: .probeAttempts)
            let out = try c.decodeIfPresent(JSONValue.self, forKey: .output)
            output = out == .null ? nil : out
            error = try c.decodeIfPresent(String.self, forKey: .error)
            waitingAttempt = try c.decodeIfPresent(Int.self, forKey: .waitingAttempt)
            waitingUntil = try SagaTime.decodeIfPresent(c, .waitingUntil)
        }

        init(_ s: StepState) {
            name = s.name
            status = s.status
            attempts = s.attempts
            compensationAttempts = s.compensationAttempts
            probeAttempts = s.probeAttempts
            output = s.output
            error = s.lastError
            if let attempt = s.waitingAttempt, let until = s.waitingUntil {
                waitingAttempt = attempt
                waitingUntil = until
            }
        }
    }

    /// A step that waits now: for a `signal` (a step with `await`) or a `timer`, until a time.
    public struct Wait: Codable, Sendable, Hashable {
        public var step: String
        public var attempt: Int
        /// `signal` or `timer`.
        public var waitsFor: String
        public var until: Date

        enum CodingKeys: String, CodingKey {
            case step, attempt, waitsFor = "for", until
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(step, forKey: .step)
            try c.encode(attempt, forKey: .attempt)
            try c.encode(waitsFor, forKey: .waitsFor)
            try c.encode(SagaTime.format(until), forKey: .until)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            step = try c.decode(String.self, forKey: .step)
            attempt = try c.decode(Int.self, forKey: .attempt)
            waitsFor = try c.decode(String.self, forKey: .waitsFor)
            until = try SagaTime.decode(c, .until)
        }

        init(step: String, attempt: Int, waitsFor: String, until: Date) {
            self.step = step
            self.attempt = attempt
            self.waitsFor = waitsFor
            self.until = until
        }
    }

    /// An intervention of the saga, open or settled.
    public struct Intervention: Codable, Sendable, Hashable {
        public struct Resolution: Codable, Sendable, Hashable {
            public var action: String
            public var by: String
            public var note: String?
            public var at: Date

            enum CodingKeys: String, CodingKey { case action, by, note, at }

            public func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(action, forKey: .action)
                try c.encode(by, forKey: .by)
                try c.encode(note, forKey: .note)
                try c.encode(SagaTime.format(at), forKey: .at)
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                action = try c.decode(String.self, forKey: .action)
                by = try c.decode(String.self, forKey: .by)
                note = try c.decodeIfPresent(String.self, forKey: .note)
                at = try SagaTime.decode(c, .at)
            }

            init(action: String, by: String, note: String?, at: Date) {
                self.action = action
                self.by = by
                self.note = note
                self.at = at
            }
        }

        public var id: String
        public var step: String
        public var phase: StepPhase
        public var reason: String
        public var openedAt: Date
        public var open: Bool
        public var resolution: Resolution?

        enum CodingKeys: String, CodingKey { case id, step, phase, reason, openedAt, open, resolution }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(step, forKey: .step)
            try c.encode(phase.rawValue, forKey: .phase)
            try c.encode(reason, forKey: .reason)
            try c.encode(SagaTime.format(openedAt), forKey: .openedAt)
            try c.encode(open, forKey: .open)
            try c.encodeIfPresent(resolution, forKey: .resolution)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            id = try c.decode(String.self, forKey: .id)
            step = try c.decode(String.self, forKey: .step)
            phase = try c.decode(StepPhase.self, forKey: .phase)
            reason = try c.decode(String.self, forKey: .reason)
            openedAt = try SagaTime.decode(c, .openedAt)
            open = try c.decode(Bool.self, forKey: .open)
            resolution = try c.decodeIfPresent(Resolution.self, forKey: .resolution)
        }

        init(_ i: SagaIntervention) {
            id = i.id
            step = i.step
            phase = i.phase
            reason = i.reason
            openedAt = i.openedAt
            open = i.isOpen
            resolution = i.resolution.map { Resolution(action: $0.action, by: $0.by, note: $0.note, at: $0.at) }
        }
    }

    /// One of the saga's exclusive keys and the saga that holds it (`ahead`: sagas queued before this one).
    public struct KeyHold: Codable, Sendable, Hashable {
        public var key: String
        public var holder: String
        public var ahead: Int
    }

    /// What the saga waits for besides its steps' waits: limits' slots and other sagas' keys.
    public struct WaitsFor: Codable, Sendable, Hashable {
        public var limits: [String]?
        public var keys: [KeyHold]?
    }

    public var summary: SagaSummaryView
    public var input: JSONValue
    public var leaseExpiresAt: Date?
    /// The sagas that rerun this one, newest first.
    public var reruns: [String]
    /// Every exclusive key of the saga, with its holder; absent when it has none (or is terminal).
    public var exclusiveKeys: [KeyHold]?
    /// Absent when the saga waits for no limit and no key.
    public var waitsFor: WaitsFor?
    /// Why the saga is where it is (a failure, a cancel request); `nil` while all goes well. Absent with the steps'
    /// details when the journal does not replay (`journalError`).
    public var reason: String?
    public var steps: [Step]
    /// Absent when the journal does not replay.
    public var waits: [Wait]?
    public var interventions: [Intervention]
    /// Why the journal does not replay against the pinned definition; absent when it does.
    public var journalError: String?
    /// The journal, oldest first, each event as `SagaEvent.json` writes it.
    public var events: [JSONValue]

    /// The view of a snapshot at `now`.
    public init(_ snapshot: SagaSnapshot, now: Date) {
        let record = snapshot.record
        summary = SagaSummaryView(record, now: now)
        input = record.input
        leaseExpiresAt = record.leaseExpiresAt
        reruns = snapshot.reruns
        if !snapshot.keys.isEmpty {
            exclusiveKeys = snapshot.keys.map { KeyHold(key: $0.key, holder: $0.holder, ahead: $0.ahead) }
        }
        let awaited = snapshot.awaitedKeys.map { KeyHold(key: $0.key, holder: $0.holder, ahead: $0.ahead) }
        if !snapshot.limitWaits.isEmpty || !awaited.isEmpty {
            waitsFor = WaitsFor(
                limits: snapshot.limitWaits.isEmpty ? nil : snapshot.limitWaits,
                keys: awaited.isEmpty ? nil : awaited
            )
        }
        if let state = snapshot.state {
            reason = state.reason
            steps = state.steps.map(Step.init)
            waits = state.waits.map { w in
                let timer = state.definition.step(named: w.step)?.action.kind.isTimer ?? false
                return Wait(step: w.step, attempt: w.attempt, waitsFor: timer ? "timer" : "signal", until: w.until)
            }
            interventions = state.interventions.map(Intervention.init)
        } else {
            steps = []
            interventions = []
            journalError = "the journal does not replay against the pinned definition: "
                + (snapshot.journalError ?? "the state machine refused it")
        }
        events = snapshot.events.map(\.json)
    }

    enum CodingKeys: String, CodingKey {
        case input, leaseExpiresAt, reruns, exclusiveKeys, waitsFor, reason, steps, waits, interventions
        case journalError, events
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(input, forKey: .input)
        try c.encode(leaseExpiresAt.map(SagaTime.format), forKey: .leaseExpiresAt)
        try c.encode(reruns, forKey: .reruns)
        try c.encodeIfPresent(exclusiveKeys, forKey: .exclusiveKeys)
        try c.encodeIfPresent(waitsFor, forKey: .waitsFor)
        if journalError == nil {
            try c.encode(reason, forKey: .reason)
            try c.encode(waits ?? [], forKey: .waits)
        }
        try c.encode(steps, forKey: .steps)
        try c.encode(interventions, forKey: .interventions)
        try c.encodeIfPresent(journalError, forKey: .journalError)
        try c.encode(events, forKey: .events)
    }

    public init(from decoder: any Decoder) throws {
        summary = try SagaSummaryView(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        input = try c.decode(JSONValue.self, forKey: .input)
        leaseExpiresAt = try SagaTime.decodeIfPresent(c, .leaseExpiresAt)
        reruns = try c.decode([String].self, forKey: .reruns)
        exclusiveKeys = try c.decodeIfPresent([KeyHold].self, forKey: .exclusiveKeys)
        waitsFor = try c.decodeIfPresent(WaitsFor.self, forKey: .waitsFor)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        steps = try c.decode([Step].self, forKey: .steps)
        waits = try c.decodeIfPresent([Wait].self, forKey: .waits)
        interventions = try c.decode([Intervention].self, forKey: .interventions)
        journalError = try c.decodeIfPresent(String.self, forKey: .journalError)
        events = try c.decode([JSONValue].self, forKey: .events)
    }
}

extension SagaSnapshot {
    /// The object `saga show --json` prints: ``SagaDetailView``.
    public func json(now: Date) -> JSONValue {
        (try? JSONValueEncoder().encode(SagaDetailView(self, now: now))) ?? .null
    }
}
