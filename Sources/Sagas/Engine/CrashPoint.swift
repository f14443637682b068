import Foundation
import Synchronization

/// For crash tests only: named points where the process can be made to die with SIGKILL, so that each window
/// between journaling and acting is exercised by a real crash.
///
/// Armed by the environment variable `SAGA_CRASH_AT=POINT` (die the first time the point is reached) or
/// `SAGA_CRASH_AT=POINT:N` (the N-th time). Unset, reaching a point costs one atomic load.
public enum CrashPoint: String, CaseIterable, Sendable {
    /// An attempt was journaled as started; its action has not run.
    case afterAttemptJournaled = "after-attempt-journaled"
    /// An action ran; its outcome is not journaled.
    case afterAction = "after-action"
    /// Inside a journal transaction, after its rows were written and before it commits.
    case insideCommit = "inside-commit"
    /// A compensation ran; its outcome is not journaled.
    case duringCompensation = "during-compensation"
    /// A worker took over a saga and journaled nothing yet about the attempts it found interrupted.
    case duringRecovery = "during-recovery"

    private static let armed: (point: CrashPoint, hit: Int)? = {
        guard let value = ProcessInfo.processInfo.environment["SAGA_CRASH_AT"], !value.isEmpty else { return nil }
        let parts = value.split(separator: ":")
        guard let point = CrashPoint(rawValue: String(parts[0])) else { return nil }
        let n = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        return (point, max(1, n))
    }()

    private static let hits = Atomic<Int>(0)

    /// Dies here with SIGKILL when this point is armed and reached for the armed time.
    public static func reach(_ point: CrashPoint) {
        guard let armed, armed.point == point else { return }
        let n = hits.add(1, ordering: .relaxed).newValue
        if n == armed.hit {
            kill(getpid(), SIGKILL)
        }
    }
}
