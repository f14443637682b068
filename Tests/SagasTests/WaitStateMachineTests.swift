import Foundation
import Sagas
import SagasTesting
import Testing

/// The state machine's waits, without I/O: `step.waiting`, signals (early, late, twice), timeouts, timers, and the
/// end of every wait when compensation begins; and `JournalChecker` rule 8.
struct WaitStateMachineTests {
    static let definition = SagaDefinition(
        name: "w",
        version: 1,
        steps: [
            SagaStep(
                name: "pay", action: .handler("pay"), compensation: .handler("refund"),
                retry: RetryPolicy(maxAttempts: 2, initialInterval: .milliseconds(10)),
                awaits: StepAwait(timeout: .seconds(60))
            ),
            SagaStep(name: "ship", action: .handler("ship"), after: ["pay"], kind: .readonly),
        ]
    )
    static let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    struct Journal {
        var machine = SagaStateMachine(sagaID: "s", definition: WaitStateMachineTests.definition)
        var events: [SagaEvent] = []

        mutating func add(
            _ type: SagaEventType, step: String? = nil, attempt: Int? = nil, output: JSONValue? = nil,
            error: String? = nil, retryable: Bool? = nil, data: JSONValue? = nil, at seconds: Double = 0
        ) throws {
            let event = SagaEvent(
                seq: events.count + 1, at: WaitStateMachineTests.t0.addingTimeInterval(seconds), type: type,
                step: step, attempt: attempt, output: output, error: error, retryable: retryable, data: data)
            try machine.apply(event)
            events.append(event)
        }

        mutating func startWaiting(attempt: Int = 1, at seconds: Double = 0) throws {
            if events.isEmpty { try add(.sagaStarted, data: ["input": [:]]) }
            try add(.stepStarted, step: "pay", attempt: attempt, data: ["waitToken": .string("t\(attempt)")], at: seconds)
            try add(.stepWaiting, step: "pay", attempt: attempt, output: ["accepted": true],
                    data: ["timeoutMs": 60_000], at: seconds)
        }
    }

    @Test func aSignalledOutputSucceedsTheStep() throws {
        var j = Journal()
        try j.startWaiting()
        #expect(j.machine.state(of: "pay")?.status == "waiting")
        #expect(j.machine.waits.first?.until == Self.t0.addingTimeInterval(60))
        #expect(j.machine.decide(now: Self.t0.addingTimeInterval(1)) == [.wake(at: Self.t0.addingTimeInterval(60))])
        try j.add(.stepSignalled, step: "pay", attempt: 1, output: ["charge": "c"], at: 2)
        #expect(j.machine.state(of: "pay")?.succeeded == true)
        #expect(j.machine.outputs["pay"] == ["charge": "c"])
        #expect(j.machine.decide(now: Self.t0.addingTimeInterval(2)) == [.startAttempt(step: "ship", phase: .action, attempt: 1)])
    }

    @Test func aSignalBeforeTheCallReturnedAppliesWhenItDoes() throws {
        var j = Journal()
        try j.add(.sagaStarted, data: ["input": [:]])
        try j.add(.stepStarted, step: "pay", attempt: 1)
        try j.add(.stepSignalled, step: "pay", attempt: 1, output: ["charge": "early"])
        #expect(j.machine.state(of: "pay")?.succeeded == false)
        try j.add(.stepWaiting, step: "pay", attempt: 1, output: ["accepted": true], data: ["timeoutMs": 60_000])
        #expect(j.machine.state(of: "pay")?.succeeded == true)
        #expect(j.machine.outputs["pay"] == ["charge": "early"])
        #expect(j.machine.waits.isEmpty)
    }

    @Test func aTimeoutFailsTheAttemptAndTheRetryPolicyDecides() throws {
        var j = Journal()
        try j.startWaiting()
        #expect(j.machine.decide(now: Self.t0.addingTimeInterval(61)) == [.endWait(step: "pay", attempt: 1)])
        try j.add(.stepWaitTimedOut, step: "pay", attempt: 1, error: "no signal", retryable: true, at: 61)
        #expect(j.machine.state(of: "pay")?.status == "retrying")
        #expect(j.machine.state(of: "pay")?.mayHaveTakenEffect == true)
        try j.startWaiting(attempt: 2, at: 62)
        try j.add(.stepSignalled, step: "pay", attempt: 2, error: "declined", retryable: false, at: 63)
        #expect(j.machine.decide(now: Self.t0.addingTimeInterval(63))
            == [.beginCompensation(reason: "step 'pay' failed: declined")])
    }

    @Test func compensationEndsEveryWait() throws {
        var j = Journal()
        try j.startWaiting()
        try j.add(.cancelRequested, error: "stop")
        try j.add(.sagaCompensating, error: "cancelled: stop")
        #expect(j.machine.waits.isEmpty)
        #expect(j.machine.compensationQueue == ["pay"])
        // A signal for it no longer applies.
        var late = j
        #expect(throws: SagaError.self) {
            try late.add(.stepSignalled, step: "pay", attempt: 1, output: [:])
        }
    }

    @Test func checkerFlagsAWaitResolvedTwiceAndAfterCompensation() throws {
        var j = Journal()
        try j.startWaiting()
        try j.add(.stepSignalled, step: "pay", attempt: 1, output: [:])
        var events = j.events
        events.append(SagaEvent(seq: events.count + 1, at: Self.t0, type: .sagaCompensating, error: "x"))
        events.append(SagaEvent(seq: events.count + 1, at: Self.t0, type: .stepSignalled, step: "pay", attempt: 1, output: [:]))
        var record = SagaFixtures.record(id: "s")
        record.lastSeq = events.count
        let report = JournalChecker().check([JournalChecker.Journal(record: record, events: events, definition: Self.definition)])
        let waits = report.violations.filter { $0.rule == .waits }.map(\.message)
        #expect(waits.contains { $0.contains("resolved twice") }, "\(report)")
        #expect(waits.contains { $0.contains("after compensation began") }, "\(report)")

        // A journal whose wait is resolved once is clean for rule 8.
        var clean = SagaFixtures.record(id: "s")
        clean.lastSeq = j.events.count
        clean.status = .running
        let ok = JournalChecker().check([JournalChecker.Journal(record: clean, events: j.events, definition: Self.definition)])
        #expect(ok.violations.filter { $0.rule == .waits }.isEmpty, "\(ok)")
    }
}
