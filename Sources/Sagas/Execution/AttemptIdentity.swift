public import Foundation

/// One attempt as the journal knows it, and the mark its processes carry: `SAGA_ATTEMPT_MARK` in their environment.
///
/// A worker killed with `kill -9` cannot stop what its attempts started. The worker that takes its sagas over reads
/// the attempts journaled as started without an outcome, and, before it journals them as interrupted, asks each
/// action kind's executor to end whatever of them is still running (``StepExecutor/endOrphanedAttempts(_:)``). The
/// mark names the saga, step, phase, attempt and the millisecond its `*.started` event was journaled, so that it
/// is the same in the worker that spawned the attempt and in the one that recovers it, and differs between two
/// databases that hold sagas with the same ids.
public struct AttemptIdentity: Sendable, Hashable {
    /// The environment variable a `command` attempt's processes carry the mark in.
    public static let environmentName = "SAGA_ATTEMPT_MARK"

    public var sagaID: String
    public var step: String
    public var phase: StepPhase
    /// 1-based, per phase.
    public var attempt: Int
    /// When its `*.started` event was journaled.
    public var startedAt: Date

    public init(sagaID: String, step: String, phase: StepPhase, attempt: Int, startedAt: Date) {
        self.sagaID = sagaID
        self.step = step
        self.phase = phase
        self.attempt = attempt
        self.startedAt = startedAt
    }

    /// `SAGA/STEP/PHASE#ATTEMPT@MILLISECONDS`, at the precision stores keep times in.
    public var mark: String {
        "\(sagaID)/\(step)/\(phase.rawValue)#\(attempt)@\(SagaTime.milliseconds(startedAt))"
    }
}
