public import Foundation
import Logging

/// An open intervention with what an operator needs to decide: errors, attempts, age, suggested action.
public struct InterventionSummary: Sendable, Hashable {
    public var intervention: SagaIntervention
    public var workflow: String
    public var version: Int
    /// The last error of the failed step or compensation.
    public var lastError: String?
    /// Every error of that step and phase, oldest first.
    public var errors: [String]
    /// Attempts of that step and phase so far.
    public var attempts: Int
    /// Automatic retries the reconciliation job has made for this step and phase.
    public var automaticRetries: Int
    /// What to do, in a few words.
    public var suggestion: String
    /// The workflow's own `reconciliation.maxAutomaticRetries`, or `nil` when the job's setting applies.
    public var workflowMaxAutomaticRetries: Int? = nil

    /// How many automatic retries the reconciliation job may still make, when it runs with `maxAutomaticRetries`
    /// (`--max-retries`) and the workflow does not set its own.
    public func automaticRetriesLeft(maxAutomaticRetries: Int) -> Int {
        max(0, (workflowMaxAutomaticRetries ?? maxAutomaticRetries) - automaticRetries)
    }

    /// The object `saga interventions --json` prints (``SagaInterventionView``); `automaticRetriesLeft` assumes the
    /// job's `maxAutomaticRetries` (`--max-retries`, default 3) where the workflow sets none.
    public func json(now: Date, maxAutomaticRetries: Int = ReconciliationPolicy().maxAutomaticRetries) -> JSONValue {
        let view = SagaInterventionView(self, now: now, maxAutomaticRetries: maxAutomaticRetries)
        return (try? JSONValueEncoder().encode(view)) ?? .null
    }
}

/// How an operator settles an intervention.
public enum InterventionResolution: Sendable, Hashable {
    /// Run the failed compensation (or step, or probe) again, optionally with corrected input; `attempts` limits
    /// the tries (`nil`: the step's retry policy).
    case retry(input: JSONValue?, attempts: Int?)
    /// A person did by hand what the compensation (or step) should have done; the saga carries on as if it had
    /// succeeded, with `output` as the step's output.
    case skip(output: JSONValue?)
    /// Give up on the remaining compensations: the saga ends `failed`.
    case abandon

    var action: String {
        switch self {
        case .retry: "retry"
        case .skip: "skip"
        case .abandon: "abandon"
        }
    }
}

/// Settings of the reconciliation job.
public struct ReconciliationPolicy: Sendable, Hashable {
    /// How long after an intervention opened (or after the last automatic retry) the next automatic retry runs.
    public var retryInterval: Duration
    /// Automatic retries per step and phase before only a person can settle it.
    public var maxAutomaticRetries: Int
    /// An attempt running this many times past its timeout is reported as stuck.
    public var overdueFactor: Double

    public init(retryInterval: Duration = .seconds(300), maxAutomaticRetries: Int = 3, overdueFactor: Double = 3) {
        self.retryInterval = retryInterval
        self.maxAutomaticRetries = maxAutomaticRetries
        self.overdueFactor = overdueFactor
    }
}

/// What one reconciliation pass did and what still needs a person.
public struct ReconciliationReport: Sendable {
    public struct Entry: Sendable, Hashable {
        /// What the pass did: `retried`, `released`, `conflict`; what a dry run would do: `would_retry`,
        /// `would_release`; what needs a person: `needs_person`, `overdue`, `stuck` (no worker runs it),
        /// `parked` (its journal does not replay).
        public var action: String
        public var sagaID: String
        public var step: String?
        public var detail: String
        public var ageSeconds: Int

        public var json: JSONValue {
            var o: [String: JSONValue] = [
                "action": .string(action), "saga": .string(sagaID), "detail": .string(detail),
                "ageSeconds": .integer(ageSeconds),
            ]
            o["step"] = step.map { .string($0) } ?? .null
            return .object(o)
        }
    }

    public var entries: [Entry] = []

    /// The entries that need a person, rather than report what the pass did or would do.
    public static let needsPersonActions: Set<String> = ["needs_person", "overdue", "stuck", "parked"]

    public var json: JSONValue {
        .object([
            "actions": .array(entries.filter { !Self.needsPersonActions.contains($0.action) }.map(\.json)),
            "needsPerson": .array(entries.filter { Self.needsPersonActions.contains($0.action) }.map(\.json)),
        ])
    }
}

extension SagaEngine {
    /// The reconciliation job's name in journals.
    public static let reconciliationActor = "reconciliation"

    /// Open interventions, oldest first.
    ///
    /// - Parameters:
    ///   - workflow: only those of this workflow.
    ///   - olderThan: only those open for at least this long.
    public func interventions(workflow: String? = nil, olderThan: Duration? = nil, limit: Int = 1000) async throws
        -> [InterventionSummary]
    {
        let records = try await store.list(
            SagaQuery(statuses: [.needsIntervention], workflow: workflow, limit: limit)
        )
        let t = now()
        var result: [InterventionSummary] = []
        for record in records {
            guard let summary = try await interventionSummary(of: record) else { continue }
            if let olderThan,
                t.timeIntervalSince(summary.intervention.openedAt) < Double(SagaDuration.milliseconds(olderThan)) / 1000
            {
                continue
            }
            result.append(summary)
        }
        return result.sorted { $0.intervention.openedAt < $1.intervention.openedAt }
    }

    /// Parked sagas, oldest first: `needs_intervention` because their journal does not replay (a pinned
    /// definition that no longer loads, or an event the state machine refuses), so they have no intervention to
    /// resolve. Repair them from a backup (Docs/operations.md, "Parked sagas").
    ///
    /// - Parameter workflow: only those of this workflow.
    public func parkedSagas(workflow: String? = nil, limit: Int = 1000) async throws -> [SagaRecord] {
        let records = try await store.list(
            SagaQuery(statuses: [.needsIntervention], workflow: workflow, limit: limit)
        )
        var parked: [SagaRecord] = []
        for record in records where try await snapshot(sagaID: record.id).state == nil {
            parked.append(record)
        }
        return parked.sorted { $0.updatedAt < $1.updatedAt }
    }

    /// Every intervention of a saga, open and past, oldest first.
    public func interventions(sagaID: String) async throws -> [InterventionSummary] {
        let snapshot = try await snapshot(sagaID: sagaID)
        guard let machine = snapshot.state else { return [] }
        return machine.interventions.map { summarize($0, record: snapshot.record, machine: machine, events: snapshot.events) }
    }

    private func interventionSummary(of record: SagaRecord) async throws -> InterventionSummary? {
        let snapshot = try await snapshot(sagaID: record.id)
        guard let machine = snapshot.state, let open = machine.openIntervention else { return nil }
        return summarize(open, record: record, machine: machine, events: snapshot.events)
    }

    private func summarize(
        _ intervention: SagaIntervention,
        record: SagaRecord,
        machine: SagaStateMachine,
        events: [SagaEvent]
    ) -> InterventionSummary {
        let types: Set<SagaEventType> =
            switch intervention.phase {
            case .action: [.stepFailed, .stepUnknown]
            case .compensation: [.compensationFailed, .compensationUnknown]
            case .probe: [.probeFailed]
            }
        let errors = events.filter { $0.step == intervention.step && types.contains($0.type) && $0.seq < intervention.seq }
            .compactMap(\.error)
        let state = machine.state(of: intervention.step)
        let attempts =
            switch intervention.phase {
            case .action: state?.attempts ?? 0
            case .compensation: state?.compensationAttempts ?? 0
            case .probe: state?.probeAttempts ?? 0
            }
        let automatic = machine.interventions.filter {
            $0.step == intervention.step && $0.phase == intervention.phase
                && $0.resolution?.by == SagaEngine.reconciliationActor
        }.count
        let lastFailure = events.last { $0.step == intervention.step && types.contains($0.type) && $0.seq < intervention.seq }
        let suggestion: String
        switch intervention.phase {
        case _ where intervention.reason.contains("was interrupted \(SagaStateMachine.maxInterruptions) times"):
            suggestion = "find out why its workers died while it ran (memory, a crash in the step); retry once fixed, "
                + "skip if it took effect"
        case .compensation:
            suggestion =
                lastFailure?.retryable == false
                ? "undo it by hand, then skip; or fix the cause and retry"
                : "retry once the target is back; skip if you undid it by hand"
        case .action:
            suggestion = "retry once the target is back (the saga is past its pivot and must go forward); skip if done by hand"
        case .probe:
            suggestion = "check whether the step took effect: skip if it did, retry to probe again"
        }
        return InterventionSummary(
            intervention: intervention,
            workflow: record.workflow,
            version: record.version,
            lastError: errors.last,
            errors: errors,
            attempts: attempts,
            automaticRetries: automatic,
            suggestion: suggestion,
            workflowMaxAutomaticRetries: machine.definition.reconciliation?.maxAutomaticRetries
        )
    }

    /// Settles the open intervention of a saga, journaled with who did it and why.
    ///
    /// - Parameters:
    ///   - id: an intervention id (`SAGA#SEQ`) or a saga id.
    ///   - resolution: retry, skip or abandon.
    ///   - by: who (journaled).
    ///   - note: why (journaled; required by the CLI for skip and abandon).
    /// - Returns: the saga's record after the resolution. After a retry or skip the saga is runnable again and a
    ///   worker (or ``run(sagaID:)``) carries it on; after abandon it is `failed`.
    /// - Throws: `.invalidState` when the intervention is already resolved (naming by whom and how), or when another
    ///   resolution won a race; `.sagaNotFound`.
    @discardableResult
    public func resolve(
        _ id: String,
        _ resolution: InterventionResolution,
        by: String,
        note: String?
    ) async throws -> SagaRecord {
        let parts = id.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let sagaID = parts[0]
        let wantedSeq = parts.count == 2 ? Int(parts[1]) : nil
        if sagaID.isEmpty || (parts.count == 2 && wantedSeq == nil) {
            throw SagaError(.invalidArgument, "invalid intervention id '\(EchoedText.clip(id))': expected SAGA#NUMBER")
        }
        let snapshot = try await snapshot(sagaID: sagaID)
        guard var machine = snapshot.state else {
            throw SagaError(
                .corruptJournal,
                "saga \(sagaID): its journal does not replay" + (snapshot.journalError.map { " (\($0))" } ?? ""),
                sagaID: sagaID
            )
        }
        let target: SagaIntervention
        if let wantedSeq {
            guard let found = machine.interventions.first(where: { $0.seq == wantedSeq }) else {
                throw SagaError(.sagaNotFound, "no intervention \(EchoedText.clip(id))", sagaID: sagaID)
            }
            target = found
        } else if let open = machine.openIntervention {
            target = open
        } else if let last = machine.interventions.last {
            target = last
        } else {
            throw SagaError(
                .invalidState,
                "saga \(sagaID) has no intervention (it is \(snapshot.record.status.rawValue))",
                sagaID: sagaID
            )
        }
        if let r = target.resolution {
            throw SagaError(
                .invalidState,
                "intervention \(target.id) was already resolved: \(r.action) by \(r.by) at \(SagaTime.format(r.at))"
                    + (r.note.map { " (\($0))" } ?? ""),
                sagaID: sagaID,
                step: target.step
            )
        }
        var data: [String: JSONValue] = [
            "action": .string(resolution.action),
            "by": .string(by),
            "intervention": .string(target.id),
        ]
        if let note { data["note"] = .string(note) }
        switch resolution {
        case .retry(let input, let attempts):
            // A corrected input is checked as `start` checks an input, before anything is journaled.
            if let input {
                let inputSize = input.jsonString.utf8.count
                if inputSize > configuration.maxInputBytes {
                    throw SagaError(
                        .tooLarge,
                        "saga \(sagaID): the corrected input is \(inputSize) bytes, more than the limit of "
                            + "\(configuration.maxInputBytes); nothing was journaled",
                        sagaID: sagaID
                    )
                }
                if let schema = machine.definition.input {
                    let problems = schema.validate(input)
                    if !problems.isEmpty {
                        throw SagaError(
                            .invalidInput,
                            "saga \(sagaID): the corrected input for workflow \(machine.definition.reference) is invalid: "
                                + problems.prefix(10).joined(separator: "; ") + "; nothing was journaled",
                            sagaID: sagaID
                        )
                    }
                }
            }
            if let input { data["input"] = input }
            if let attempts { data["attempts"] = .integer(attempts) }
        case .skip(let output):
            if let output { data["output"] = output }
        case .abandon:
            break
        }
        let at = now()
        var events = [
            SagaEvent(seq: machine.lastSeq + 1, at: at, type: .interventionResolved, step: target.step, data: .object(data))
        ]
        if case .abandon = resolution {
            events.append(
                SagaEvent(
                    seq: machine.lastSeq + 2,
                    at: at,
                    type: .sagaFailed,
                    error: "abandoned by \(by)" + (note.map { ": \($0)" } ?? "")
                )
            )
        }
        let expected = machine.lastSeq
        for event in events { try machine.apply(event) }
        let began = ContinuousClock.now
        try await store.appendUnowned(
            events,
            sagaID: sagaID,
            expectedLastSeq: expected,
            progress: SagaProgress(status: machine.status),
            now: at
        )
        notify(.appendedUnowned, snapshot.record, events: events, status: machine.status, since: began, by: by)
        logger.notice(
            "intervention resolved",
            metadata: [
                "saga.id": "\(sagaID)", "saga.step": "\(target.step)", "action": "\(resolution.action)", "by": "\(by)",
            ]
        )
        guard let record = try await store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
        return record
    }

    /// One pass of the reconciliation job: retries open interventions whose automatic retry is due (all of them
    /// when `force`), drives each retried saga as far as it goes, hands sagas whose worker is gone back to the
    /// workers, and reports attempts running far past their timeout and what still needs a person.
    ///
    /// Safe beside workers and other reconcilers: resolutions are compare-and-set, sagas are driven under leases.
    ///
    /// - Parameters:
    ///   - dryRun: change nothing: report `would_retry` and `would_release` instead of acting.
    ///   - reportWaiting: also report, as needing a person, runnable sagas that no worker runs (`stuck`, as
    ///     `saga list` marks them) and parked sagas (`parked`). A worker's own passes leave it off: its backlog
    ///     is not stuck.
    public func reconcile(
        policy: ReconciliationPolicy = .init(),
        force: Bool = false,
        dryRun: Bool = false,
        reportWaiting: Bool = false
    ) async throws -> ReconciliationReport {
        var report = ReconciliationReport()
        let t = now()
        func age(_ date: Date) -> Int { Int(max(0, t.timeIntervalSince(date))) }

        // 1 and 2: open interventions (compensations, post-pivot steps, unsettled probes).
        for summary in try await interventions() {
            let intervention = summary.intervention
            // The workflow's own `reconciliation` settings override the fields they set.
            let definition = try? await snapshot(sagaID: intervention.sagaID).state?.definition
            let policy = definition?.reconciliation?.applied(to: policy) ?? policy
            let lastTry =
                (try? await interventions(sagaID: intervention.sagaID))?
                .filter { $0.intervention.step == intervention.step && $0.intervention.resolution?.by == SagaEngine.reconciliationActor }
                .compactMap(\.intervention.resolution?.at).max() ?? intervention.openedAt
            let due = t.timeIntervalSince(max(lastTry, intervention.openedAt)) * 1000
                >= Double(SagaDuration.milliseconds(policy.retryInterval))
            guard summary.automaticRetries < policy.maxAutomaticRetries else {
                report.entries.append(
                    .init(
                        action: "needs_person", sagaID: intervention.sagaID, step: intervention.step,
                        detail: "\(intervention.id): \(intervention.reason) (automatic retries used up; \(summary.suggestion))",
                        ageSeconds: age(intervention.openedAt)
                    )
                )
                continue
            }
            guard force || due else {
                report.entries.append(
                    .init(
                        action: "needs_person", sagaID: intervention.sagaID, step: intervention.step,
                        detail: "\(intervention.id): \(intervention.reason) (automatic retry \(summary.automaticRetries + 1) of \(policy.maxAutomaticRetries) not yet due)",
                        ageSeconds: age(intervention.openedAt)
                    )
                )
                continue
            }
            if dryRun {
                report.entries.append(
                    .init(
                        action: "would_retry", sagaID: intervention.sagaID, step: intervention.step,
                        detail: "\(intervention.id): \(intervention.reason) (would be automatic retry "
                            + "\(summary.automaticRetries + 1) of \(policy.maxAutomaticRetries))",
                        ageSeconds: age(intervention.openedAt)
                    )
                )
                continue
            }
            do {
                try await resolve(
                    intervention.id,
                    .retry(input: nil, attempts: 1),
                    by: SagaEngine.reconciliationActor,
                    note: "automatic retry \(summary.automaticRetries + 1) of \(policy.maxAutomaticRetries)"
                )
            } catch let error as SagaError where error.code == .invalidState {
                report.entries.append(
                    .init(action: "conflict", sagaID: intervention.sagaID, step: intervention.step,
                          detail: "settled by someone else first: \(error.message)", ageSeconds: age(intervention.openedAt))
                )
                continue
            }
            let record = try await run(sagaID: intervention.sagaID)
            let outcome: String
            if record.status == .needsIntervention {
                outcome = "failed again; the saga waits (\(record.lastError ?? "no error"))"
            } else {
                outcome = "succeeded; the saga is \(record.status.rawValue)"
            }
            report.entries.append(
                .init(
                    action: "retried", sagaID: intervention.sagaID, step: intervention.step,
                    detail: "\(intervention.phase.rawValue) of \(intervention.step): \(outcome)",
                    ageSeconds: age(intervention.openedAt)
                )
            )
        }

        // 3: runnable sagas whose lease expired, or whose owner on this host is gone: hand them to the workers.
        for record in try await store.leasedSagas(limit: 10_000) {
            // Sagas this job already handed back (owner "reconciliation", lease expired) wait for a worker's claim.
            guard let owner = record.owner, owner != configuration.workerID, owner != SagaEngine.reconciliationActor
            else { continue }
            let expired = !record.hasLiveLease(now: t)
            if expired || configuration.liveness.isCertainlyGone(owner) {
                if dryRun {
                    report.entries.append(
                        .init(
                            action: "would_release", sagaID: record.id, step: record.currentStep,
                            detail: "worker \(owner) is gone; would hand it back to the workers",
                            ageSeconds: age(record.updatedAt)
                        )
                    )
                    continue
                }
                // Hand over with an already expired lease: the next worker's claim takes it.
                if try await store.takeOver(sagaID: record.id, from: owner, owner: SagaEngine.reconciliationActor, leaseUntil: t) {
                    report.entries.append(
                        .init(
                            action: "released", sagaID: record.id, step: record.currentStep,
                            detail: "worker \(owner) is gone; handed back to the workers",
                            ageSeconds: age(record.updatedAt)
                        )
                    )
                }
                continue
            }
            // A live worker whose attempt runs far past its timeout.
            guard let step = record.currentStep else { continue }
            let snapshot = try await snapshot(sagaID: record.id)
            guard let machine = snapshot.state, let definitionStep = machine.definition.step(named: step),
                machine.state(of: step)?.inFlight != nil,
                let started = snapshot.events.last(where: { $0.step == step && $0.type.isAttemptStart })
            else { continue }
            let limit = Double(SagaDuration.milliseconds(definitionStep.timeout)) / 1000 * policy.overdueFactor
            if t.timeIntervalSince(started.at) > limit {
                report.entries.append(
                    .init(
                        action: "overdue", sagaID: record.id, step: step,
                        detail: "worker \(owner) has run attempt \(started.attempt ?? 0) of \(step) for \(age(started.at))s; its timeout is \(SagaDuration.format(definitionStep.timeout))",
                        ageSeconds: age(started.at)
                    )
                )
            }
        }
        if reportWaiting { try await reportWaitingSagas(into: &report, at: t, handled: Set(report.entries.map(\.sagaID))) }
        return report
    }

    /// Adds `stuck` entries for runnable sagas that no worker runs (`SagaRecord.isStuck`) and `parked` entries
    /// for parked sagas, except those in `handled`.
    private func reportWaitingSagas(into report: inout ReconciliationReport, at t: Date, handled: Set<String>) async throws {
        func age(_ date: Date) -> Int { Int(max(0, t.timeIntervalSince(date))) }
        let runnable = try await store.list(SagaQuery(statuses: SagaStatus.allCases.filter(\.isRunnable), limit: 1000))
        for record in runnable.reversed() where record.isStuck(now: t) && !handled.contains(record.id) {
            report.entries.append(
                .init(
                    action: "stuck", sagaID: record.id, step: record.currentStep,
                    detail: "\(record.status.rawValue), no worker runs it and it made no progress for \(age(record.updatedAt))s: "
                        + "start `saga worker`",
                    ageSeconds: age(record.updatedAt)
                )
            )
        }
        for record in try await parkedSagas() where !handled.contains(record.id) {
            report.entries.append(
                .init(
                    action: "parked", sagaID: record.id, step: record.currentStep,
                    detail: "\(record.lastError ?? "its journal does not replay"); repair it from a backup",
                    ageSeconds: age(record.updatedAt)
                )
            )
        }
    }
}

extension SagaEventType {
    var isAttemptStart: Bool { self == .stepStarted || self == .compensationStarted || self == .probeStarted }
}
