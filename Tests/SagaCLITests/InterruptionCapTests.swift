import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Issue 14, item 4: a step that kills its worker every time (here with `kill -9 $PPID`; in life, a command that
/// exhausts the machine's memory). Its interrupted attempts do not use up its retries, so without a cap it would
/// loop for ever; the 10th interruption stops the saga in `needs_intervention` (phase `action`), and nothing is
/// compensated because of it.
@Suite(.serialized)
struct InterruptionCapTests {
    @Test(.timeLimit(.minutes(3)))
    func aStepThatKeepsKillingItsWorkerWaitsForAPerson() async throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{"ok": true}'"#)
        try box.writeScript("killer.sh", "kill -9 $PPID; sleep 0.3")
        try box.writeWorkflow(
            "killer",
            commandWorkflow(
                "killer",
                defaults: #"{"retry": {"maxAttempts": 2, "initialInterval": "10ms"}, "timeout": "30s"}"#,
                steps: [
                    (name: "a", argv: ["./scripts/ok.sh"], extra: #""compensation": {"command": {"argv": ["./scripts/ok.sh"]}}"#),
                    (name: "b", argv: ["./scripts/killer.sh"], extra: #""after": ["a"]"#),
                ]
            )
        )
        _ = try box.submit(["killer", "--id", "k-1", "--input", "{}"])
        var workers = 0
        var last: SagaProcess?
        // Each worker takes the saga over from the one the step killed, journals its attempt as interrupted, and
        // runs the step again; the one that journals the 10th interruption stops the saga and exits, idle.
        while workers < 2 * SagaStateMachine.maxInterruptions {
            let worker = try box.start(["worker", "--until-idle", "--lease", "30s", "--log-level", "error"])
            workers += 1
            guard let status = worker.wait(timeout: 30) else {
                worker.signal(SIGKILL)
                Issue.record("a worker neither died nor finished: \(worker.stderr)")
                return
            }
            last = worker
            if status == 0 { break }
        }
        #expect(last?.wait(timeout: 0) == 0, "the last worker found nothing left to run: \(last?.stderr ?? "")")
        #expect(workers == SagaStateMachine.maxInterruptions + 1, "one worker per interruption, then one that stops")
        let reader = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        let record = try #require(try await reader.saga(id: "k-1"))
        let events = try await reader.events(sagaID: "k-1")
        #expect(record.status == .needsIntervention)
        #expect(events.filter(\.isInterruption).count == SagaStateMachine.maxInterruptions)
        #expect(!events.contains { $0.type == .sagaCompensating || $0.type == .compensationStarted }, "nothing undone")
        let opened = try #require(events.last)
        #expect(opened.type == .sagaNeedsIntervention && opened.step == "b")
        #expect(opened.data?["phase"]?.stringValue == "action")
        #expect(opened.error?.contains("was interrupted \(SagaStateMachine.maxInterruptions) times") == true, "\(opened.error ?? "")")
        let report = JournalChecker(requireEffectForEverySuccess: false).check([.init(record: record, events: events)])
        #expect(report.violations.isEmpty, "\(report)")
        // `saga interventions` lists it for a person, with what to do.
        let listed = try box.run(["interventions", "--json"])
        #expect(listed.status == 0, "\(listed)")
        #expect(listed.stdout.contains("k-1"), "\(listed)")
        #expect(listed.stdout.contains("find out why its workers died"), "\(listed)")
    }
}
