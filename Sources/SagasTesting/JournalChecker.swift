public import Foundation
public import Sagas

/// Checks whole journals against the guarantees (`Docs/guarantees.md`), after crash, fault and soak tests.
///
/// Give it every saga's record, events and pinned definition (or a store to read them from), and optionally what
/// the targets saw (``Effect``) and when workers ran attempts (``AttemptSpan``). It reports every violation it
/// finds, not only the first, so one run of a chaos test shows everything that went wrong.
///
/// ```swift
/// let report = try await JournalChecker().check(store: store, effects: effects)
/// #expect(report.violations.isEmpty, "\(report)")
/// ```
///
/// The rules, by number (``Rule``):
/// 1. Every saga is terminal (`completed`, `compensated`, `failed`) or `needs_intervention` with an open intervention.
/// 2. Every step that succeeded ran: a `step.started` precedes its success; every attempt of a step's phase carried
///    the key `SagaStateMachine.idempotencyKey(...)`; targets saw no execution that was not journaled first.
/// 3. No forward `step.started` after `saga.compensating`.
/// 4. Exactly the steps that may have taken effect (succeeded, or an outcome stayed unknown), are `compensable` and
///    have a compensation, were compensated (for a `compensated` saga; never more for any saga), in reverse order of
///    completion, and each after the steps that depend on it.
/// 5. The journal replays: events are numbered 1…n, and `SagaStateMachine.apply` accepts every one; the record's
///    status and last number agree with the journal.
/// 6. One saga per id, and no two workers ran attempts of one saga at overlapping times.
/// 7. Targets saw every execution with its step's one key, and saw every journaled success at least once.
/// 8. Waits (`JournalChecker+Waits.swift`): each waiting attempt is resolved at most once (a signal, its timeout, its
///    timer), nothing resolves a wait after `saga.compensating`, and a record that says `waiting` has a wait open.
public struct JournalChecker: Sendable {
    /// A rule of the checker, numbered as in the type's documentation.
    public enum Rule: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
        case terminal = 1
        case attempts = 2
        case noForwardAfterCompensation = 3
        case compensation = 4
        case replay = 5
        case isolation = 6
        case effects = 7
        case waits = 8

        public static func < (a: Rule, b: Rule) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .terminal: "1 terminal"
            case .attempts: "2 attempts and keys"
            case .noForwardAfterCompensation: "3 no forward step after compensating"
            case .compensation: "4 compensation set and order"
            case .replay: "5 journal replays"
            case .isolation: "6 one saga per id, one worker at a time"
            case .effects: "7 effects seen by targets"
            case .waits: "8 a wait resolved once, none after compensating"
            }
        }
    }

    /// One broken rule.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        public var sagaID: String
        public var rule: Rule
        public var message: String

        public init(sagaID: String, rule: Rule, message: String) {
            self.sagaID = sagaID
            self.rule = rule
            self.message = message
        }

        public var description: String { "saga \(sagaID): rule \(rule): \(message)" }
    }

    /// One saga as a store keeps it.
    public struct Journal: Sendable {
        public var record: SagaRecord
        public var events: [SagaEvent]
        /// The pinned definition; `nil` loads it from `record.definition`.
        public var definition: SagaDefinition?

        public init(record: SagaRecord, events: [SagaEvent], definition: SagaDefinition? = nil) {
            self.record = record
            self.events = events
            self.definition = definition
        }
    }

    /// One execution of an action as its target saw it (a line a test script appends, a handler's record).
    public struct Effect: Sendable, Hashable {
        public var sagaID: String
        public var step: String
        public var phase: StepPhase
        /// The idempotency key the execution carried.
        public var key: String

        public init(sagaID: String, step: String, phase: StepPhase, key: String) {
            self.sagaID = sagaID
            self.step = step
            self.phase = phase
            self.key = key
        }
    }

    /// When one worker ran one attempt (as a test script logs it: its parent's pid, start and end times).
    public struct AttemptSpan: Sendable, Hashable {
        public var sagaID: String
        public var step: String
        public var worker: String
        public var start: Date
        public var end: Date

        public init(sagaID: String, step: String, worker: String, start: Date, end: Date) {
            self.sagaID = sagaID
            self.step = step
            self.worker = worker
            self.start = start
            self.end = end
        }
    }

    /// What a check found.
    public struct Report: Sendable, CustomStringConvertible {
        public var violations: [Violation] = []
        /// Sagas checked.
        public var sagas = 0
        /// Sagas by final status.
        public var statuses: [SagaStatus: Int] = [:]
        /// Executions targets saw.
        public var executions = 0
        /// Executions beyond the first of a step's phase (at-least-once at work), all with the one key.
        public var duplicateExecutions = 0
        /// Attempts journaled `step.unknown`/`compensation.unknown`/`probe.failed` as "interrupted".
        public var interruptedAttempts = 0

        public init() {}

        /// The rules broken, each once.
        public var brokenRules: Set<Rule> { Set(violations.map(\.rule)) }

        public var description: String {
            let counts = statuses.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) \($0.value)" }
            var lines = [
                "\(sagas) sagas (\(counts.joined(separator: ", "))), \(executions) executions, "
                    + "\(duplicateExecutions) duplicates, \(interruptedAttempts) interrupted attempts, "
                    + "\(violations.count) violations"
            ]
            lines += violations.prefix(50).map { "  \($0)" }
            if violations.count > 50 { lines.append("  … and \(violations.count - 50) more") }
            return lines.joined(separator: "\n")
        }
    }

    /// Whether every saga must be finished (rule 1). Turn it off to check journals of sagas still running.
    public var requireFinished: Bool
    /// Whether every journaled success must show in the effects (rule 7), when effects are given.
    public var requireEffectForEverySuccess: Bool

    public init(requireFinished: Bool = true, requireEffectForEverySuccess: Bool = true) {
        self.requireFinished = requireFinished
        self.requireEffectForEverySuccess = requireEffectForEverySuccess
    }

    // MARK: Entry points

    /// Reads every saga of a store and checks it.
    ///
    /// - Parameters:
    ///   - store: read with `list(SagaQuery(limit: .max))`, then `events(sagaID:)` for each saga.
    ///   - effects: what targets saw; `nil` skips rule 7.
    ///   - spans: when workers ran attempts; `nil` skips the overlap half of rule 6.
    /// - Throws: What the store throws.
    public func check(store: any SagaStore, effects: [Effect]? = nil, spans: [AttemptSpan]? = nil) async throws -> Report {
        var journals: [Journal] = []
        for record in try await store.list(SagaQuery(limit: .max)) {
            journals.append(Journal(record: record, events: try await store.events(sagaID: record.id)))
        }
        return check(journals, effects: effects, spans: spans)
    }

    /// Checks a set of journals.
    ///
    /// - Parameters:
    ///   - journals: every saga to check.
    ///   - effects: what targets saw for these sagas; `nil` skips rule 7.
    ///   - spans: when workers ran attempts of these sagas; `nil` skips the overlap half of rule 6.
    public func check(_ journals: [Journal], effects: [Effect]? = nil, spans: [AttemptSpan]? = nil) -> Report {
        var report = Report()
        var seen: Set<String> = []
        for journal in journals {
            let id = journal.record.id
            if !seen.insert(id).inserted {
                report.violations.append(Violation(sagaID: id, rule: .isolation, message: "more than one saga has this id"))
            }
            report.sagas += 1
            report.statuses[journal.record.status, default: 0] += 1
            check(journal, into: &report)
        }
        if let effects { check(effects: effects, journals: journals, into: &report) }
        if let spans { check(spans: spans, into: &report) }
        return report
    }

    // MARK: One saga

    private func check(_ journal: Journal, into report: inout Report) {
        let record = journal.record
        let id = record.id
        let events = journal.events
        func flag(_ rule: Rule, _ message: String) {
            report.violations.append(Violation(sagaID: id, rule: rule, message: message))
        }

        // Rule 5: numbering.
        let seqs = events.map(\.seq)
        if seqs != Array(1..<(events.count + 1)) {
            var problems: [String] = []
            var counts: [Int: Int] = [:]
            for s in seqs { counts[s, default: 0] += 1 }
            let duplicated = counts.filter { $0.value > 1 }.keys.sorted()
            if !duplicated.isEmpty { problems.append("duplicated \(duplicated)") }
            if let top = seqs.max() {
                let missing = (1...max(1, top)).filter { counts[$0] == nil }
                if !missing.isEmpty { problems.append("missing \(missing.prefix(10))") }
            }
            if problems.isEmpty { problems.append("out of order") }
            flag(.replay, "event numbers are not 1…\(events.count): " + problems.joined(separator: ", "))
        }
        if record.lastSeq != events.count {
            flag(.replay, "the record's last event is \(record.lastSeq), the journal has \(events.count) events")
        }

        // Rule 5: the fold.
        let definition: SagaDefinition
        if let given = journal.definition {
            definition = given
        } else if let loaded = WorkflowLoader.load(string: record.definition, file: "saga \(id)", kinds: .anyKind).definition {
            definition = loaded
        } else {
            flag(.replay, "its pinned definition does not load")
            return
        }
        var machine = SagaStateMachine(sagaID: id, definition: definition)
        var replayed = true
        for event in events {
            do {
                try machine.apply(event)
            } catch {
                flag(.replay, error.message)
                replayed = false
                break
            }
        }
        for message in Self.waitViolations(events, machine: replayed ? machine : nil, record: record) {
            flag(.waits, message)
        }
        if replayed && machine.status != record.status && !(record.status == .waiting && !machine.waits.isEmpty) {
            flag(.replay, "the record says \(record.status.rawValue), the journal replays to \(machine.status.rawValue)")
        }

        // Rule 1.
        if requireFinished {
            let status = replayed ? machine.status : record.status
            if status == .needsIntervention {
                if replayed && machine.openIntervention == nil {
                    flag(.terminal, "needs_intervention without an open intervention")
                }
            } else if !status.isTerminal {
                flag(.terminal, "not finished: \(status.rawValue)")
            }
        }

        // Rules 2, 3 and 4 read the raw events, so that they hold even where the fold stopped.
        var started: [String: Set<StepPhase>] = [:]
        var compensatingAt: Int?
        var completion: [String: Int] = [:]  // step → seq after which it may have taken effect
        var unknownOpen: Set<String> = []
        var succeeded: Set<String> = []
        var compensationOrder: [String] = []
        var compensated: Set<String> = []
        var interventionPhase: StepPhase?
        for event in events {
            guard let step = event.step else {
                if event.type == .sagaCompensating, compensatingAt == nil { compensatingAt = event.seq }
                continue
            }
            switch event.type {
            case .stepStarted, .compensationStarted, .probeStarted:
                let phase: StepPhase =
                    event.type == .stepStarted ? .action : event.type == .compensationStarted ? .compensation : .probe
                let expected = SagaStateMachine.idempotencyKey(sagaID: id, step: step, phase: phase)
                if event.idempotencyKey != expected {
                    flag(
                        .attempts,
                        "event \(event.seq): \(event.type.rawValue) of '\(step)' carried key "
                            + "\(event.idempotencyKey.map { "'\($0)'" } ?? "none"), not '\(expected)'"
                    )
                }
                started[step, default: []].insert(phase)
                if phase == .action, let at = compensatingAt {
                    flag(
                        .noForwardAfterCompensation,
                        "event \(event.seq): step '\(step)' started after the saga began compensating (event \(at))"
                    )
                }
                if phase == .compensation, !compensationOrder.contains(step) { compensationOrder.append(step) }
            case .stepReused:
                // A rerun's step carried over from the saga it reruns: it succeeded there, and does not run here.
                succeeded.insert(step)
                completion[step] = event.seq
            case .stepSucceeded, .probeHappened:
                if started[step]?.contains(.action) != true {
                    flag(.attempts, "event \(event.seq): step '\(step)' succeeded but never started")
                }
                succeeded.insert(step)
                unknownOpen.remove(step)
                completion[step] = event.seq
            case .stepUnknown:
                if event.interrupted { report.interruptedAttempts += 1 }
                if !succeeded.contains(step) {
                    unknownOpen.insert(step)
                    completion[step] = event.seq
                }
            case .probeNotHappened:
                unknownOpen.remove(step)
                if !succeeded.contains(step) { completion[step] = nil }
            case .probeFailed, .compensationUnknown:
                if event.interrupted { report.interruptedAttempts += 1 }
            case .compensationSucceeded:
                compensated.insert(step)
            case .sagaNeedsIntervention:
                interventionPhase = event.data?["phase"]?.stringValue.flatMap(StepPhase.init(rawValue:)) ?? .action
            case .interventionResolved:
                let action = event.data?["action"]?.stringValue
                if action == "skip" {
                    if interventionPhase == .compensation {
                        compensated.insert(step)
                        if !compensationOrder.contains(step) { compensationOrder.append(step) }
                    } else {
                        succeeded.insert(step)
                        unknownOpen.remove(step)
                        completion[step] = event.seq
                    }
                }
            default:
                break
            }
        }

        // Rule 4.
        let mayHaveTakenEffect = succeeded.union(unknownOpen)
        let due = Set(
            definition.steps.filter {
                mayHaveTakenEffect.contains($0.name) && $0.kind == .compensable && $0.compensation != nil
            }.map(\.name)
        )
        let finalStatus = replayed ? machine.status : record.status
        if finalStatus == .compensated {
            for step in due.subtracting(compensated).sorted() {
                flag(.compensation, "step '\(step)' may have taken effect but was not compensated")
            }
        }
        for step in Set(compensationOrder).subtracting(due).sorted() {
            flag(.compensation, "step '\(step)' was compensated but cannot have taken effect (or is not compensable)")
        }
        let ordered = compensationOrder.filter { completion[$0] != nil }
        let expectedOrder = ordered.sorted { completion[$0]! > completion[$1]! }
        if ordered != expectedOrder {
            flag(
                .compensation,
                "compensations ran in the order \(ordered), not in reverse order of completion \(expectedOrder)"
            )
        }
        let position = Dictionary(compensationOrder.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        for step in definition.steps {
            guard let mine = position[step.name] else { continue }
            for dependency in step.after {
                if let theirs = position[dependency], theirs < mine {
                    flag(
                        .compensation,
                        "'\(dependency)' was compensated before '\(step.name)', which depends on it"
                    )
                }
            }
        }
    }

    // MARK: Effects and spans

    private func check(effects: [Effect], journals: [Journal], into report: inout Report) {
        report.executions += effects.count
        var byKey: [String: [Effect]] = [:]
        for effect in effects {
            byKey["\(effect.sagaID)\u{0}\(effect.step)\u{0}\(effect.phase.rawValue)", default: []].append(effect)
        }
        for (_, list) in byKey {
            report.duplicateExecutions += list.count - 1
            let first = list[0]
            let expected = SagaStateMachine.idempotencyKey(sagaID: first.sagaID, step: first.step, phase: first.phase)
            let keys = Set(list.map(\.key))
            if keys != [expected] {
                report.violations.append(
                    Violation(
                        sagaID: first.sagaID,
                        rule: .effects,
                        message: "the target saw \(first.phase.rawValue) of '\(first.step)' \(list.count) times "
                            + "with keys \(keys.sorted()), expected only '\(expected)'"
                    )
                )
            }
        }
        for journal in journals {
            let id = journal.record.id
            var startedPhases: Set<String> = []
            var succeededPhases: Set<String> = []
            for event in journal.events {
                guard let step = event.step else { continue }
                switch event.type {
                case .stepStarted: startedPhases.insert("\(step)\u{0}action")
                case .compensationStarted: startedPhases.insert("\(step)\u{0}compensation")
                case .probeStarted: startedPhases.insert("\(step)\u{0}probe")
                case .stepSucceeded: succeededPhases.insert("\(step)\u{0}action")
                case .compensationSucceeded:
                    succeededPhases.insert("\(step)\u{0}compensation")
                default: break
                }
            }
            for effect in effects where effect.sagaID == id {
                if !startedPhases.contains("\(effect.step)\u{0}\(effect.phase.rawValue)") {
                    report.violations.append(
                        Violation(
                            sagaID: id,
                            rule: .attempts,
                            message: "the target saw \(effect.phase.rawValue) of '\(effect.step)', "
                                + "which the journal never started (act before journaling)"
                        )
                    )
                }
            }
            if requireEffectForEverySuccess {
                for entry in succeededPhases.sorted() {
                    let parts = entry.split(separator: "\u{0}").map(String.init)
                    if byKey["\(id)\u{0}\(entry)"] == nil {
                        report.violations.append(
                            Violation(
                                sagaID: id,
                                rule: .effects,
                                message: "\(parts[1]) of '\(parts[0])' succeeded but no target saw it run"
                            )
                        )
                    }
                }
            }
        }
    }

    private func check(spans: [AttemptSpan], into report: inout Report) {
        let bySaga = Dictionary(grouping: spans, by: \.sagaID)
        for (id, list) in bySaga {
            let sorted = list.sorted { $0.start < $1.start }
            for (i, x) in sorted.enumerated() {
                for y in sorted[(i + 1)...] {
                    if y.start >= x.end { break }
                    if x.worker != y.worker {
                        report.violations.append(
                            Violation(
                                sagaID: id,
                                rule: .isolation,
                                message: "workers \(x.worker) ('\(x.step)') and \(y.worker) ('\(y.step)') ran "
                                    + "attempts at overlapping times"
                            )
                        )
                    }
                }
            }
        }
    }
}

extension SagaEvent {
    /// Whether the event journals an attempt that a worker stopped in the middle of ("interrupted").
    /// (`isInterruption`, or the error text alone in journals written before the marker existed.)
    var interrupted: Bool { isInterruption || error?.hasPrefix("interrupted") == true }
}
