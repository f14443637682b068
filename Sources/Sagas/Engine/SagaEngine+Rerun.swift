public import Foundation
import Logging

extension SagaEngine {
    /// Starts a new saga that reruns a finished (or parked) one, linked to it both ways (`rerunOf`, and the
    /// original's `saga show` lists its reruns).
    ///
    /// The new saga pins the original's definition, or `definition` (the workflow's latest version), and takes the
    /// original's input or a corrected one. With `from`, the steps that must run before that step (its
    /// dependencies, transitively) keep the outputs the original journaled and are not run again (`step.reused`);
    /// the step and everything else run anew.
    ///
    /// Every attempt of the new saga carries the key `NEW/STEP/PHASE`: a new saga id, so targets see new
    /// operations. That is safe because the original is finished (none of its attempts can still be in flight)
    /// and each step that runs again does so because its effect was undone, never happened, or is wanted again;
    /// a reused step's compensation, if the rerun has to undo, carries the new saga's key.
    ///
    /// - Parameters:
    ///   - sagaID: the saga to rerun: `completed`, `compensated`, `failed`, or parked (its journal does not replay;
    ///     then `from` is not available).
    ///   - from: the step to rerun from; `nil` reruns every step.
    ///   - input: a corrected input, checked against the schema; `nil` keeps the original's.
    ///   - definition: the definition to pin (the workflow's latest version); `nil` pins the original's.
    ///   - id: the new saga's id; generated when `nil`.
    ///   - by: who asks for the rerun, journaled in the new saga's `saga.started` (`data.by`).
    /// - Throws: `.sagaNotFound`; `.invalidState` when the saga is still running or waits for a person, or a step
    ///   before `from` did not succeed or was compensated in the original; `.invalidArgument` for an unknown step;
    ///   `.invalidInput`; `.sagaConflict` when `id` exists.
    @discardableResult
    public func rerun(
        sagaID: String,
        from: String? = nil,
        input: JSONValue? = nil,
        definition latest: SagaDefinition? = nil,
        id: String? = nil,
        by: String? = nil
    ) async throws -> SagaRecord {
        let original = try await snapshot(sagaID: sagaID)
        let record = original.record
        let parked = original.state == nil
        guard record.status.isTerminal || (record.status == .needsIntervention && parked) else {
            throw SagaError(
                .invalidState,
                "saga \(sagaID) is \(record.status.rawValue): rerun works on finished sagas (completed, compensated, "
                    + "failed) and parked ones; "
                    + (record.status == .needsIntervention
                        ? "settle its intervention first (saga resolve), or terminate it"
                        : "cancel or terminate it first"),
                sagaID: sagaID
            )
        }
        let definition: SagaDefinition
        if let latest {
            definition = latest
        } else {
            do {
                definition = try self.definition(of: record)
            } catch {
                throw SagaError(
                    .invalidState,
                    "saga \(sagaID): its pinned definition does not load (\(error.message)); rerun it with the "
                        + "workflow's latest version (--latest)",
                    sagaID: sagaID
                )
            }
        }
        var reused: [(step: String, output: JSONValue)] = []
        if let from {
            guard let machine = original.state else {
                throw SagaError(
                    .invalidState,
                    "saga \(sagaID): its journal does not replay, so no step's output can be carried over; rerun it "
                        + "without --from",
                    sagaID: sagaID
                )
            }
            guard let target = definition.step(named: from) else {
                throw SagaError(
                    .invalidArgument,
                    "workflow \(definition.reference) has no step '\(from)' (steps: "
                        + definition.steps.map(\.name).joined(separator: ", ") + ")",
                    sagaID: sagaID
                )
            }
            var before: Set<String> = []
            var pending = target.after
            while let next = pending.popLast() {
                guard before.insert(next).inserted else { continue }
                pending += definition.step(named: next)?.after ?? []
            }
            for step in definition.steps where before.contains(step.name) {
                guard let state = machine.state(of: step.name), state.succeeded else {
                    throw SagaError(
                        .invalidState,
                        "saga \(sagaID): step '\(step.name)', which '\(from)' depends on, did not succeed in it, so "
                            + "there is no output to carry over; rerun from '\(step.name)' or from the start",
                        sagaID: sagaID,
                        step: step.name
                    )
                }
                if state.compensated {
                    throw SagaError(
                        .invalidState,
                        "saga \(sagaID): step '\(step.name)', which '\(from)' depends on, was compensated in it (its "
                            + "effect was undone); rerun from '\(step.name)' or from the start",
                        sagaID: sagaID,
                        step: step.name
                    )
                }
                reused.append((step.name, state.output ?? .null))
            }
        }
        var (newRecord, started) = try prepareStart(
            definition, input: input ?? record.input, id: id, baseDirectory: record.baseDirectory
        )
        newRecord.rerunOf = sagaID
        var data = started.data?.objectValue ?? [:]
        data["rerunOf"] = .string(sagaID)
        if let from { data["from"] = .string(from) }
        if let by { data["by"] = .string(by) }
        started.data = .object(data)
        var events = [started]
        for (i, r) in reused.enumerated() {
            events.append(
                SagaEvent(
                    seq: i + 2, at: started.at, type: .stepReused, step: r.step, output: r.output,
                    data: ["from": .string(sagaID)]
                )
            )
        }
        // The new journal must replay: check it before it is written.
        var machine = SagaStateMachine(sagaID: newRecord.id, definition: definition)
        for event in events { try machine.apply(event) }
        let began = ContinuousClock.now
        let creation = try await store.create(newRecord, events: events)
        if case .created(let created) = creation {
            notify(.created, created, events: events, status: created.status, since: began)
        }
        guard case .created(let created) = creation else {
            throw SagaError(
                .sagaConflict,
                "saga \(newRecord.id) already exists; choose another id for the rerun",
                sagaID: newRecord.id
            )
        }
        logger.notice(
            "saga rerun started",
            metadata: [
                "saga.id": "\(created.id)", "rerun.of": "\(sagaID)", "rerun.from": "\(from ?? "start")",
                "reused": "\(reused.count)",
            ]
        )
        return created
    }

    /// The reruns of a saga, newest first.
    public func reruns(of sagaID: String, limit: Int = 100) async throws -> [SagaRecord] {
        try await store.list(SagaQuery(rerunOf: sagaID, limit: limit))
    }
}
