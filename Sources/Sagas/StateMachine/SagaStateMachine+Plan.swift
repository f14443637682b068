public import Foundation

extension SagaStateMachine {
    /// What would run if the saga were cancelled (or a step failed for good) now: the compensation plan.
    ///
    /// Pure: it reads the folded journal and the pinned definition, and resolves the compensations' templates
    /// with `environment`'s values shown as `***` (so no secret appears).
    ///
    /// - Parameter environment: what `${env.NAME}` reads; only which names exist matters.
    public func plan(environment: [String: String]) -> SagaPlan {
        var plan = SagaPlan(
            sagaID: sagaID, workflow: definition.reference, status: status, summary: "", cancelIgnored: false,
            compensations: [], notCompensated: [], probedFirst: [], inFlight: [], wouldNeedIntervention: [],
            forward: [], ifStepFails: []
        )
        if status.isTerminal {
            plan.cancelIgnored = true
            plan.summary = "the saga is \(status.rawValue): nothing would run"
            return plan
        }
        plan.inFlight = attemptsInFlight.filter { $0.phase != .compensation }.map(\.step)
        plan.waits = planWaits
        if pivotSucceeded {
            plan.cancelIgnored = true
            let pivot = definition.steps.first { $0.kind == .pivot }?.name ?? "the pivot"
            plan.summary = "the pivot step '\(pivot)' has succeeded: a cancel would be journaled but ignored, and a "
                + "step that fails for good would stop the saga in needs_intervention; nothing would be compensated"
            plan.wouldNeedIntervention.append("any step that fails for good (the saga is past its pivot)")
            for s in definition.steps { plan.notCompensated.append(.init(step: s.name, reason: "past the pivot")) }
            return plan
        }
        let masked = environment.mapValues { _ in "***" }
        let queue = planQueue()
        for name in queue {
            guard let step = definition.step(named: name), let compensation = step.compensation,
                let state = state(of: name)
            else { continue }
            var outputs = self.outputs
            if outputs[name] == nil { outputs[name] = state.output ?? .null }
            let context = Template.Context(
                input: state.inputOverride ?? input, outputs: outputs, sagaID: sagaID, workflow: definition.name,
                environment: masked
            )
            var entry = SagaPlan.Compensation(
                step: name,
                idempotencyKey: SagaStateMachine.idempotencyKey(sagaID: sagaID, step: name, phase: .compensation),
                kind: compensation.kind.rawValue,
                spec: compensation.spec,
                problem: nil,
                ifProbeFindsEffect: state.unresolvedUnknown && step.probe != nil
            )
            do {
                entry.spec = try Template.resolve(compensation.spec, in: context).value
            } catch {
                entry.problem = error.message
                plan.wouldNeedIntervention.append("the compensation of step '\(name)': \(error.message)")
            }
            if state.compensationExhausted {
                entry.problem = entry.problem ?? "it failed for good: \(state.lastError ?? "failed")"
                plan.wouldNeedIntervention.append(
                    "the compensation of step '\(name)' already failed for good and waits for a person"
                )
            }
            if entry.ifProbeFindsEffect { plan.probedFirst.append(name) }
            plan.compensations.append(entry)
        }
        let planned = Set(queue)
        for (i, s) in steps.enumerated() where !planned.contains(s.name) {
            plan.notCompensated.append(.init(step: s.name, reason: skipReason(s, definition.steps[i])))
        }
        plan.summary = summary(of: plan)
        return plan
    }

    /// Steps that would be compensated, next first: the compensation queue, with attempts in flight that may take
    /// effect in front (they finish first, and a step that completes later is undone first).
    private func planQueue() -> [String] {
        var queue = compensationQueue
        // A waiting step's work may have been done: a cancel ends its wait and compensates it, like an attempt in
        // flight (timers have no effect to undo).
        let waiting = waits.filter { w in !(definition.step(named: w.step)?.action.kind.isTimer ?? true) }
            .map { (step: $0.step, phase: StepPhase.action, attempt: $0.attempt) }
        for f in attemptsInFlight + waiting where f.phase == .action {
            let i = definition.steps.firstIndex { $0.name == f.step }
            guard let i, definition.steps[i].kind == .compensable, definition.steps[i].compensation != nil,
                !queue.contains(f.step)
            else { continue }
            queue.insert(f.step, at: 0)
        }
        return queue
    }

    private func skipReason(_ s: StepState, _ step: SagaStep) -> String {
        if s.compensated { return s.compensationSkipped ? "compensated by hand (skipped)" : "already compensated" }
        switch step.kind {
        case .readonly: return "read-only"
        case .pivot: return "the pivot (never compensated)"
        case .retriable: return "retriable (after the pivot, never compensated)"
        case .compensable: break
        }
        if step.compensation == nil && s.mayHaveTakenEffect { return "took effect, but has no compensation" }
        if step.compensation == nil { return "has no compensation" }
        if s.attempts == 0 { return "never started" }
        if s.failedForGood { return "failed, so it took no effect" }
        return "has not taken effect (its attempts failed and it waits for a retry)"
    }

    private func summary(of plan: SagaPlan) -> String {
        let verb = status == .compensating ? "compensation would go on with" : "cancelling now would compensate"
        var text: String
        if plan.compensations.isEmpty {
            text = status == .compensating ? "every compensation is done" : "cancelling now would compensate nothing"
        } else {
            text = "\(verb) \(plan.compensations.count) step\(plan.compensations.count == 1 ? "" : "s"), in this "
                + "order: " + plan.compensations.map(\.step).joined(separator: ", ")
        }
        if !plan.inFlight.isEmpty {
            text += "; first the attempts in flight finish (\(plan.inFlight.joined(separator: ", ")))"
        }
        if !plan.probedFirst.isEmpty {
            text += "; the outcome of \(plan.probedFirst.joined(separator: ", ")) is unknown: its probe runs first"
        }
        if !plan.wouldNeedIntervention.isEmpty { text += "; it would stop in needs_intervention" }
        if status == .needsIntervention { text = "the saga waits for a person; once settled, " + text }
        return text
    }
}

extension SagaDefinition {
    /// The what-if plan of a workflow not yet started: the forward order (steps that run in parallel grouped),
    /// and for each step what its failure for good would start. Nothing runs.
    public func whatIfPlan() -> SagaPlan {
        var levels: [[String]] = []
        var level: [String: Int] = [:]
        for step in steps {
            let l = (step.after.compactMap { level[$0] }.max() ?? -1) + 1
            level[step.name] = l
            if levels.count <= l { levels.append([]) }
            levels[l].append(step.name)
        }
        var ancestors: [String: Set<String>] = [:]
        for step in steps {
            var set = Set(step.after)
            for dep in step.after { set.formUnion(ancestors[dep] ?? []) }
            ancestors[step.name] = set
        }
        let compensable = Set(steps.filter { $0.kind == .compensable && $0.compensation != nil }.map(\.name))
        let order = Dictionary(uniqueKeysWithValues: steps.enumerated().map { ($1.name, $0) })
        var whatIf: [SagaPlan.IfStepFails] = []
        for step in steps {
            let before = ancestors[step.name] ?? []
            let pivotBefore = steps.contains { before.contains($0.name) && $0.kind == .pivot }
            if pivotBefore || step.kind == .retriable {
                whatIf.append(.init(step: step.name, outcome: "needs_intervention", compensations: [], alsoIfFinished: []))
                continue
            }
            let undo = before.filter { compensable.contains($0) }
                .sorted { (level[$0] ?? 0, order[$0] ?? 0) > (level[$1] ?? 0, order[$1] ?? 0) }
            let descendants = Set(steps.filter { ancestors[$0.name]?.contains(step.name) ?? false }.map(\.name))
            let parallel = steps.map(\.name).filter {
                $0 != step.name && !before.contains($0) && !descendants.contains($0) && compensable.contains($0)
            }
            whatIf.append(.init(step: step.name, outcome: "compensate", compensations: undo, alsoIfFinished: parallel))
        }
        var plan = SagaPlan(
            sagaID: nil, workflow: reference, status: .pending,
            summary: "not started: cancelling it would run nothing; the table shows what each step's failure would undo",
            cancelIgnored: false, compensations: [], notCompensated: [], probedFirst: [], inFlight: [],
            wouldNeedIntervention: [], forward: levels, ifStepFails: whatIf
        )
        for step in steps where !compensable.contains(step.name) {
            let reason: String =
                switch step.kind {
                case .readonly: "read-only"
                case .pivot: "the pivot (never compensated)"
                case .retriable: "retriable (after the pivot, never compensated)"
                case .compensable: "has no compensation"
                }
            plan.notCompensated.append(.init(step: step.name, reason: reason))
        }
        return plan
    }
}
