import Foundation
import Logging
import Synchronization

/// One planned attempt.
struct AttemptPlan: Sendable {
    var step: SagaStep
    var phase: StepPhase
    var attempt: Int
    var key: String
    /// When its `*.started` event was journaled: part of the mark its processes carry.
    var startedAt: Date
    /// Tells this saga's running attempts apart.
    var id = 0
    /// The attempt's callback token (`${step.token}`), for an action of a step with `await`.
    var token: String?
}

/// How an attempt ended, with what the journal needs.
struct AttemptResult: Sendable {
    var plan: AttemptPlan
    var outcome: StepOutcome
    var durationMs: Int
}

extension SagaEngine {
    /// Drives a saga whose lease this engine holds until it is terminal, needs intervention, loses its lease, or the
    /// engine shuts down. Returns the status it left the saga in.
    ///
    /// With `creating`, the saga is new: its first write creates it leased (`SagaStoreCreatingLeased`) with that
    /// `saga.started` event and the attempts it starts with; `nil` is returned when the saga already existed.
    func drive(_ record: SagaRecord, creating started: SagaEvent? = nil) async throws -> SagaStatus? {
        try await driveToEnd(record, creating: started)?.status
    }

    /// How a drive ended: the status it left the saga in, and the saga's record when the drive knows it exactly
    /// (`nil`: read it from the store).
    struct DriveEnd {
        var status: SagaStatus
        var record: SagaRecord?
    }

    /// `drive`, with the record the saga ended with when the drive knows it.
    ///
    /// With `parkable` (a worker slot's drive), a saga whose attempts all wait for named limits is parked out of the
    /// slot (``park(_:requests:wakeAt:)``) and the drive returns.
    func driveToEnd(
        _ record: SagaRecord, creating started: SagaEvent? = nil, parkable: Bool = false
    ) async throws -> DriveEnd? {
        let sagaID = record.id
        // One drive loop per saga in this engine: a second one (a worker slot and the reconciliation job, say)
        // would journal under the same lease, and the two would overwrite each other's attempts.
        guard state.withLock({ $0.driving.insert(sagaID).inserted }) else {
            logger.debug("saga is already being driven by this engine", metadata: ["saga.id": "\(sagaID)"])
            return started == nil ? DriveEnd(status: record.status, record: nil) : nil
        }
        defer { state.withLock { _ = $0.driving.remove(sagaID) } }
        let mailbox = DriveMailbox()
        // A saga to create joins the renewed leases once its creation committed (in `create`): a renewal that read
        // it before would find no lease and take it for lost.
        state.withLock {
            if started == nil { _ = $0.active.insert(sagaID) }
            $0.lostLeases.remove(sagaID)
            $0.mailboxes[sagaID] = mailbox
        }
        if started == nil { ensureLeaseRenewal() }
        defer {
            state.withLock {
                // A parked saga's lease is still renewed.
                if !$0.parking.holds(sagaID) { _ = $0.active.remove(sagaID) }
                $0.cancelRequests[sagaID] = nil
                $0.cancelActors[sagaID] = nil
                if $0.mailboxes[sagaID] === mailbox { $0.mailboxes[sagaID] = nil }
            }
        }
        do {
            // The attempts are children of this drive's task group, and the timers are served by a child of the
            // worker's `run()` or, outside a worker, of this drive: both end before this returns.
            return try await timers.serving {
                try await withThrowingDiscardingTaskGroup(returning: DriveEnd?.self) { group in
                    var attempts = RunningAttempts()
                    do {
                        let end = try await drive(
                            record, creating: started, parkable: parkable && started == nil, mailbox: mailbox,
                            attempts: &attempts, tasks: &group
                        )
                        attempts.cancelAll(timers: timers)
                        return end
                    } catch {
                        // Outcomes not yet journaled are lost on purpose: the next worker journals those attempts
                        // as interrupted and settles them (at least once). They are stopped (the group awaits
                        // them) before the lease can pass on.
                        attempts.cancelAll(timers: timers)
                        throw error
                    }
                }
            }
        } catch {
            if let error = error as? SagaError, error.code == .corruptJournal, started == nil {
                await park(record, because: error)
            }
            throw error
        }
    }

    /// A saga whose journal does not replay (its pinned definition no longer loads, or the machine refuses an
    /// event) would fail the same way on every worker, for ever. It is parked instead: marked `needs_intervention`
    /// with the reason as its last error, and its lease released, without a journal event (the journal is what is
    /// broken). `saga list --status needs_intervention` shows it; `saga show` shows its journal.
    private func park(_ record: SagaRecord, because error: SagaError) async {
        let reason = "its journal does not replay: \(error.message)"
        do {
            let began = ContinuousClock.now
            try await store.append(
                [],
                sagaID: record.id,
                owner: configuration.workerID,
                progress: SagaProgress(status: .needsIntervention, lastError: reason),
                leaseUntil: leaseDeadline()
            )
            notify(.appended, record, events: [], status: .needsIntervention, since: began)
            logger.error("saga parked: \(reason)", metadata: ["saga.id": "\(record.id)"])
        } catch {
            logger.error("cannot park saga whose journal does not replay: \(error)", metadata: ["saga.id": "\(record.id)"])
        }
    }

    private func drive(
        _ record: SagaRecord,
        creating started: SagaEvent?,
        parkable: Bool,
        mailbox: DriveMailbox,
        attempts: inout RunningAttempts,
        tasks: inout ThrowingDiscardingTaskGroup<any Error>
    ) async throws -> DriveEnd? {
        let sagaID = record.id
        var logger = self.logger
        logger[metadataKey: "saga.id"] = "\(sagaID)"

        let definition = try definition(of: record)
        var machine = SagaStateMachine(sagaID: sagaID, definition: definition)
        var journal = JournalBuffer(record, now: now)
        var recorded: [SagaEvent] = []
        if let started {
            try machine.apply(started)
            journal.events = [started]
            journal.creating = record
        } else {
            recorded = try await store.events(sagaID: sagaID)
            for event in recorded {
                try machine.apply(event)
            }
        }
        let sagaTrace = SagaTraceContext.of(sagaID: sagaID, started: started ?? recorded.first)
        let runSpan = tracer?.startRun(
            sagaID: sagaID, workflow: record.workflow, version: record.version, parent: sagaTrace
        )
        defer { runSpan?.end(outcome: machine.status.rawValue, error: nil) }
        if record.cancelRequestedAt != nil, let reason = record.cancelReason {
            state.withLock {
                $0.cancelRequests[sagaID] = reason
                if let by = record.cancelBy { $0.cancelActors[sagaID] = by }
            }
        }

        // Attempts a previous worker journaled as started but never finished: they may have run, and may still be
        // running (a killed worker's command lives on). Whatever is left of them is ended first, so that nothing of
        // an attempt journaled as interrupted acts after it (after its compensation, say).
        await endOrphans(machine.attemptsInFlight, of: definition, events: recorded, sagaID: sagaID, logger: logger)
        for inFlight in machine.attemptsInFlight {
            let message = "interrupted: the worker running attempt \(inFlight.attempt) stopped before its outcome was journaled"
            let type: SagaEventType =
                switch inFlight.phase {
                case .action: .stepUnknown
                case .compensation: .compensationUnknown
                case .probe: .probeFailed
                }
            try journal.emit(
                &machine, type, step: inFlight.step, attempt: inFlight.attempt, error: message,
                data: SagaEvent.interruptionData
            )
            logger.notice("recovered an interrupted attempt", metadata: ["saga.step": "\(inFlight.step)"])
        }
        if !journal.events.isEmpty { CrashPoint.reach(.duringRecovery) }

        // The retry wake-up armed on the engine's timers, if any.
        // Numbered, so that the loop knows which one fired: whether it fired is not something `now()` can tell,
        // as the timers run on the engine's clock and `now()` is the wall clock.
        var armedWake: (at: Date, number: Int, token: EngineTimers.Token)?
        var wakeTimers = 0
        defer { if let armedWake { timers.cancel(armedWake.token) } }
        var slotRows = LimitSlotRows()
        while true {
            // Cancelled (the task driving this saga was): stop at once.
            try Task.checkCancellation()
            if state.withLock({ $0.lostLeases.contains(sagaID) }) {
                throw SagaError.leaseLost(sagaID, owner: configuration.workerID, holder: nil)
            }
            if machine.cancelReason == nil, let reason = state.withLock({ $0.cancelRequests[sagaID] }) {
                let by: String? = state.withLock { $0.cancelActors[sagaID] }
                var data: JSONValue? = .none
                if let by { data = .object(["by": .string(by)]) }
                try journal.emit(&machine, .cancelRequested, error: reason, data: data)
                logger.notice("cancel requested", metadata: ["reason": "\(reason)", "by": "\(by ?? "")"])
            }
            let shuttingDown = isShuttingDown
            if shuttingDown && attempts.count > 0 && isAbandoning { attempts.abandonAll() }
            var starts: [AttemptPlan] = []
            var wake: Date?
            var limitWake: Date?
            var limitWaits: [SagaLimitRequest] = []
            var transitioned = true
            while transitioned {
                transitioned = false
                for decision in machine.decide(now: now()) {
                    switch decision {
                    case .startAttempt(let step, let phase, let attempt):
                        guard !shuttingDown, let s = definition.step(named: step) else { continue }
                        if s.limit != nil,
                            try await !acquireLimit(for: s, phase: phase, definition: definition, sagaID: sagaID, rows: &slotRows)
                        {
                            limitWake = now().addingTimeInterval(SagaEngine.limitPollInterval)
                            if let request = limitRequest(for: s, phase: phase, definition: definition, sagaID: sagaID) {
                                limitWaits.append(request)
                            }
                            continue
                        }
                        let key = SagaStateMachine.idempotencyKey(sagaID: sagaID, step: step, phase: phase)
                        let type: SagaEventType =
                            switch phase {
                            case .action: .stepStarted
                            case .compensation: .compensationStarted
                            case .probe: .probeStarted
                            }
                        let wait = Self.startData(step: s, phase: phase)
                        try journal.emit(&machine, type, step: step, attempt: attempt, key: key, data: wait.data)
                        journal.currentStep = step
                        if phase == .action, s.action.kind.isTimer {
                            // A timer calls nothing: it waits at once.
                            try journalTimerBegins(s, attempt: attempt, record: record, into: &journal, machine: &machine)
                            transitioned = true
                            continue
                        }
                        let at = journal.events.last?.at ?? now()
                        starts.append(
                            AttemptPlan(step: s, phase: phase, attempt: attempt, key: key, startedAt: at, token: wait.token)
                        )
                    case .beginCompensation(let reason):
                        try journal.emit(&machine, .sagaCompensating, error: reason)
                        journal.lastError = reason
                        logger.notice("compensating", metadata: ["reason": "\(reason)"])
                        transitioned = true
                    case .complete:
                        try journal.emit(&machine, .sagaCompleted)
                    case .finishCompensated:
                        try journal.emit(&machine, .sagaCompensated)
                    case .needIntervention(let step, let phase, let reason):
                        try journal.emit(
                            &machine,
                            .sagaNeedsIntervention,
                            step: step,
                            error: reason,
                            data: ["phase": .string(phase.rawValue)]
                        )
                        journal.lastError = reason
                        logger.error("saga needs intervention", metadata: ["saga.step": "\(step)", "reason": "\(reason)"])
                    case .wake(let at):
                        wake = at
                    case .endWait(let step, let attempt):
                        try journalWaitEnds(
                            step: step, attempt: attempt, definition: definition, into: &journal, machine: &machine,
                            logger: logger)
                        transitioned = true
                    }
                }
            }
            await freeKeptSlots(&slotRows, sagaID: sagaID, ending: machine.status.isTerminal)
            await releaseUnusedGrants(of: sagaID)
            let dueWake = wake
            if let limitWake, wake == nil || limitWake < wake! { wake = limitWake }
            // Journal first, then act.
            if journal.creating != nil {
                guard try await create(&journal, status: machine.status) else { return nil }
            }
            try await flush(&journal, status: machine.status)
            if !machine.status.isRunnable {
                logger.info("saga \(machine.status.rawValue)")
                // A cancel request changed columns this loop does not track: the caller reads the record instead.
                let known = machine.cancelReason == nil && record.cancelRequestedAt == nil
                return DriveEnd(status: machine.status, record: known ? journal.summary : nil)
            }
            if !starts.isEmpty { CrashPoint.reach(.afterAttemptJournaled) }
            for plan in starts {
                var context = makeContext(plan, machine: machine, record: record, logger: logger)
                context.sagaTrace = sagaTrace
                context.runSpan = runSpan
                attempts.start(
                    plan, context: context, definition: definition, engine: self, mailbox: mailbox, in: &tasks
                )
            }
            // Every attempt that could start waits for a limit: out of the worker's slot until a slot is granted.
            if parkable, attempts.count == 0, !shuttingDown, !limitWaits.isEmpty, journal.creating == nil,
                park(journal.summary, requests: limitWaits, wakeAt: dueWake)
            {
                logger.debug("saga parked until a limit grants a slot")
                return DriveEnd(status: machine.status, record: nil)
            }
            // Every path that can run waits: the saga goes back to the store until its wake time or a signal.
            if attempts.count == 0, !shuttingDown, let wake,
                try await releaseToWait(sagaID: sagaID, machine: machine, wakeAt: wake, logger: logger)
            {
                return DriveEnd(status: .waiting, record: nil)
            }
            if attempts.count == 0 && (shuttingDown || wake == nil) {
                if !shuttingDown {
                    // Nothing in flight, nothing due: the machine is waiting for something that cannot happen.
                    throw SagaError(
                        .corruptJournal,
                        "saga \(sagaID): no step can run and the saga is not finished (status \(machine.status.rawValue))",
                        sagaID: sagaID
                    )
                }
                try? await store.release(sagaID: sagaID, owner: configuration.workerID)
                logger.info("released saga at shutdown")
                return DriveEnd(status: machine.status, record: nil)
            }
            // A due retry wakes the loop through the engine's timers; cancel requests, lost leases and shutdown
            // nudge it through the mailbox.
            if let wake, armedWake == nil || wake < armedWake!.at {
                if let armedWake { timers.cancel(armedWake.token) }
                // At most `SagaDuration.maximum`: a retry time read from a damaged journal (a huge `retryAfterMs`,
                // an event dated 9999) must not overflow the clock's sleep.
                let delay = Duration.milliseconds(
                    min(Int64((max(0, wake.timeIntervalSince(now())) * 1000).rounded(.up)), SagaDuration.maximumMilliseconds)
                )
                wakeTimers += 1
                let number = wakeTimers
                armedWake = (wake, number, timers.schedule(after: delay) { mailbox.post(.timer(number)) })
            }
            guard let event = await mailbox.next() else { throw CancellationError() }
            switch event {
            case .wake:
                break
            case .timer(let number):
                if armedWake?.number == number { armedWake = nil }
            case .attempt(let result):
                // An attempt that ended because this task was cancelled has no outcome worth journaling.
                try Task.checkCancellation()
                attempts.finished(result, timers: timers)
                if result.plan.step.limit != nil { keepSlot(of: result.plan, in: &slotRows) }
                CrashPoint.reach(result.plan.phase == .compensation ? .duringCompensation : .afterAction)
                try journalOutcome(result, into: &journal, machine: &machine, logger: logger)
            }
        }
    }

    /// Asks each action kind's executor to end what is left of these unfinished attempts (their `*.started` events
    /// are among `events`), and waits for it.
    private func endOrphans(
        _ inFlight: [(step: String, phase: StepPhase, attempt: Int)],
        of definition: SagaDefinition,
        events: [SagaEvent],
        sagaID: String,
        logger: Logger
    ) async {
        guard !inFlight.isEmpty else { return }
        var byKind: [StepAction.Kind: [AttemptIdentity]] = [:]
        for attempt in inFlight {
            guard let kind = definition.step(named: attempt.step)?.action(for: attempt.phase)?.kind else { continue }
            let startedType: SagaEventType =
                switch attempt.phase {
                case .action: .stepStarted
                case .compensation: .compensationStarted
                case .probe: .probeStarted
                }
            guard let started = events.last(where: {
                $0.type == startedType && $0.step == attempt.step && $0.attempt == attempt.attempt
            }) else { continue }
            byKind[kind, default: []].append(
                AttemptIdentity(sagaID: sagaID, step: attempt.step, phase: attempt.phase, attempt: attempt.attempt, startedAt: started.at)
            )
        }
        for (kind, attempts) in byKind {
            await executor(for: kind)?.endOrphanedAttempts(attempts)
        }
    }

    private func makeContext(_ plan: AttemptPlan, machine: SagaStateMachine, record: SagaRecord, logger: Logger) -> StepContext {
        var outputs = machine.outputs
        if plan.phase == .compensation, outputs[plan.step.name] == nil {
            outputs[plan.step.name] = machine.state(of: plan.step.name)?.output ?? .null
        }
        var context = StepContext(
            sagaID: record.id,
            workflow: record.workflow,
            step: plan.step.name,
            phase: plan.phase,
            attempt: plan.attempt,
            idempotencyKey: plan.key,
            input: machine.state(of: plan.step.name)?.inputOverride ?? machine.input,
            outputs: outputs,
            baseDirectory: record.baseDirectory,
            timeout: plan.step.timeout,
            logger: logger,
            metadata: [
                "saga.step": "\(plan.step.name)",
                "saga.phase": "\(plan.phase.rawValue)",
                "saga.attempt": "\(plan.attempt)",
            ]
        )
        context.startedAt = plan.startedAt
        return context
    }

    /// Runs one attempt. Never throws: every way it can end is an outcome. Its timeout (armed by
    /// `RunningAttempts.start`) cancels the task and sets `timedOut`; so does a shutdown past its grace, with
    /// `abandoned`; the outcome is then unknown.
    func attempt(
        _ plan: AttemptPlan,
        context: StepContext,
        action definition: SagaDefinition,
        timedOut: TimeoutFlag,
        abandoned: TimeoutFlag
    ) async -> AttemptResult {
        let started = ContinuousClock.now
        var redactor = SecretRedactor.none
        let span: (any SagaSpan)? = context.runSpan.flatMap { run in tracer?.startAttempt(context, run: run) }
        func finish(_ outcome: StepOutcome) -> AttemptResult {
            let elapsed = ContinuousClock.now - started
            let redacted = redactor.redact(outcome)
            if let span {
                switch redacted {
                case .success, .notHappened: span.end(outcome: "succeeded", error: nil)
                case .failure(let f): span.end(outcome: "failed", error: f.message)
                case .unknown(let m): span.end(outcome: m.hasPrefix("interrupted") ? "interrupted" : "unknown", error: m)
                }
            }
            return AttemptResult(plan: plan, outcome: redacted, durationMs: Int(SagaDuration.milliseconds(elapsed)))
        }
        guard let action = plan.step.action(for: plan.phase) else {
            return finish(.failure(.permanent("step '\(plan.step.name)' has no \(plan.phase.rawValue)")))
        }
        let resolution: Template.Resolution
        do {
            resolution = try Template.resolve(
                action,
                in: Template.Context(
                    input: context.input,
                    outputs: context.outputs,
                    sagaID: context.sagaID,
                    workflow: context.workflow,
                    environment: configuration.environment,
                    step: plan.step.name,
                    phase: plan.phase,
                    token: plan.token
                )
            )
        } catch {
            return finish(.failure(.permanent("saga \(context.sagaID), step \(plan.step.name): \(error.message)")))
        }
        guard let executor = executor(for: action.kind) else {
            return finish(.failure(.permanent("no executor for \(action.kind.rawValue) actions")))
        }
        redactor = SecretRedactor(secrets: resolution.secrets)
        // The executor redacts what it cuts (a snippet, a tail) before cutting it, and what it logs is redacted.
        var context = context
        context.traceparent = span?.traceparent
        context.span = span
        context.redact(with: redactor)
        var outcome = await executor.execute(spec: resolution.value, context: context)
        if timedOut.isSet {
            // The executor was cancelled; its own report (a killed command) adds nothing.
            outcome = .unknown("timed out after \(SagaDuration.format(plan.step.timeout))")
        } else if abandoned.isSet {
            outcome = .unknown(
                "interrupted: the worker shut down and stopped attempt \(plan.attempt) after a grace of "
                    + SagaDuration.format(configuration.shutdownGrace)
            )
        }
        if case .success(let output) = outcome {
            let size = output.jsonString.utf8.count
            if size > configuration.maxOutputBytes {
                return finish(
                    .failure(.permanent("saga \(context.sagaID), step \(plan.step.name): output is \(size) bytes, more than the limit of \(configuration.maxOutputBytes)"))
                )
            }
        }
        return finish(outcome)
    }

    /// Replaces secrets (values from `${env.…}`, in every form: see `SecretRedactor`) with `***` in what is about
    /// to be journaled.
    static func redact(_ outcome: StepOutcome, secrets: [String]) -> StepOutcome {
        SecretRedactor(secrets: secrets).redact(outcome)
    }

    private func journalOutcome(
        _ result: AttemptResult,
        into journal: inout JournalBuffer,
        machine: inout SagaStateMachine,
        logger: Logger
    ) throws {
        if try journalWaitBegins(result, into: &journal, machine: &machine) { return }
        let plan = result.plan
        let step = plan.step.name
        let d = result.durationMs
        switch (plan.phase, result.outcome) {
        case (.action, .notHappened):
            try journal.emit(
                &machine, .stepFailed, step: step, attempt: plan.attempt, error: "the executor reported 'not happened'",
                retryable: true, durationMs: d
            )
        case (.action, .success(let output)):
            try journal.emit(&machine, .stepSucceeded, step: step, attempt: plan.attempt, output: output, durationMs: d)
        case (.action, .failure(let f)):
            try journal.emit(
                &machine, .stepFailed, step: step, attempt: plan.attempt, error: f.message, retryable: f.retryable,
                durationMs: d, retryAfterMs: f.retryAfter.map { Int(SagaDuration.milliseconds($0)) }
            )
            journal.lastError = "\(step): \(f.message)"
            logger.warning("step failed", metadata: ["saga.step": "\(step)", "attempt": "\(plan.attempt)", "error": "\(f.message)"])
        case (.action, .unknown(let m)):
            try journal.emit(&machine, .stepUnknown, step: step, attempt: plan.attempt, error: m, durationMs: d)
            journal.lastError = "\(step): \(m)"
            logger.warning("step outcome unknown", metadata: ["saga.step": "\(step)", "error": "\(m)"])
        case (.probe, .success(let output)):
            try journal.emit(&machine, .probeHappened, step: step, attempt: plan.attempt, output: output, durationMs: d)
        case (.probe, .notHappened):
            try journal.emit(&machine, .probeNotHappened, step: step, attempt: plan.attempt, durationMs: d)
        case (.probe, .failure(let f)):
            try journal.emit(&machine, .probeFailed, step: step, attempt: plan.attempt, error: f.message, durationMs: d)
        case (.probe, .unknown(let m)):
            try journal.emit(&machine, .probeFailed, step: step, attempt: plan.attempt, error: m, durationMs: d)
        case (.compensation, .notHappened):
            try journal.emit(&machine, .compensationSucceeded, step: step, attempt: plan.attempt, durationMs: d)
        case (.compensation, .success(let output)):
            try journal.emit(&machine, .compensationSucceeded, step: step, attempt: plan.attempt, output: output, durationMs: d)
        case (.compensation, .failure(let f)):
            try journal.emit(
                &machine, .compensationFailed, step: step, attempt: plan.attempt, error: f.message,
                retryable: f.retryable, durationMs: d,
                retryAfterMs: f.retryAfter.map { Int(SagaDuration.milliseconds($0)) }
            )
            journal.lastError = "\(step) (compensation): \(f.message)"
            logger.warning("compensation failed", metadata: ["saga.step": "\(step)", "error": "\(f.message)"])
        case (.compensation, .unknown(let m)):
            try journal.emit(&machine, .compensationUnknown, step: step, attempt: plan.attempt, error: m, durationMs: d)
            journal.lastError = "\(step) (compensation): \(m)"
        }
    }
}
