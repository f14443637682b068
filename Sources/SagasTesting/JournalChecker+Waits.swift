public import Sagas

// Rule 8: steps that wait (issue 20).
extension JournalChecker {
    /// What is wrong with a journal's waits: an attempt resolved twice, a wait resolved after compensation began,
    /// a record marked `waiting` with no wait open. `machine` is the replayed journal (`nil` when it does not
    /// replay).
    static func waitViolations(_ events: [SagaEvent], machine: SagaStateMachine?, record: SagaRecord) -> [String] {
        var problems: [String] = []
        var resolved: [String: Int] = [:]
        var compensatingAt: Int?
        for event in events {
            if event.type == .sagaCompensating, compensatingAt == nil { compensatingAt = event.seq }
            let ends: Bool =
                switch event.type {
                case .stepSignalled, .stepWaitTimedOut, .stepTimerFired: true
                default: false
                }
            guard ends, let step = event.step else { continue }
            let attempt = event.attempt ?? 0
            let name = "\(step)#\(attempt)"
            if let first = resolved[name] {
                problems.append(
                    "the wait of step '\(step)' attempt \(attempt) is resolved twice (events \(first) and \(event.seq))")
            } else {
                resolved[name] = event.seq
            }
            if let at = compensatingAt {
                problems.append(
                    "event \(event.seq) \(event.type.rawValue) (step '\(step)') resolves a wait after compensation "
                        + "began (event \(at))")
            }
        }
        if record.status == .waiting, let machine, machine.waits.isEmpty {
            problems.append("the record says waiting but no step waits")
        }
        return problems
    }
}
