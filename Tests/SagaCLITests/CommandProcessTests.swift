import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The processes of `command` steps when `saga run` and `saga worker` stop: signals, kills, detached descendants,
/// and arguments that cannot be passed (issue 14, items 2, 5, 7 and 12).
@Suite(.timeLimit(.minutes(2)))
struct CommandProcessTests {
    /// The pid a step script wrote to the scratch file `name`, once it is there.
    static func pid(_ box: CLISandbox, _ name: String, timeout: TimeInterval = 30) throws -> Int32 {
        var pid: Int32?
        _ = eventually(timeout: timeout) {
            pid = box.readScratch(name).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return pid != nil
        }
        guard let pid else { throw CLITestError("no pid in \(name)") }
        return pid
    }

    /// A workflow with one slow step `slow` (its script given) and a second step `next`.
    static func twoSteps(_ box: CLISandbox, _ script: String, timeout: String = "10m") throws {
        try box.writeScript("slow.sh", script)
        try box.writeScript("next.sh", #"echo next >> "$SAGA_SCRATCH/effects.log"; echo '"next"'"#)
        try box.writeWorkflow(
            "slow",
            commandWorkflow(
                "slow",
                defaults: #"{"retry": {"maxAttempts": 3, "initialInterval": "10ms"}, "timeout": "\#(timeout)"}"#,
                steps: [
                    (name: "slow", argv: ["./scripts/slow.sh"], extra: ""),
                    (name: "next", argv: ["./scripts/next.sh"], extra: #""after": ["slow"]"#),
                ]
            )
        )
    }

    // MARK: Item 2: saga run and signals

    @Test func sigtermStopsSagaRunAfterTheGraceKillingItsStepAndReleasingTheLease() throws {
        let box = try CLISandbox()
        try Self.twoSteps(box, #"""
            echo $$ > "$SAGA_SCRATCH/slow-$SAGA_ATTEMPT.pid"
            if [ "$SAGA_ATTEMPT" = 1 ]; then sleep 600; fi
            echo '"slow done"'
            """#)
        let run = try box.start(["run", "slow", "--id", "term-1", "--shutdown-grace", "1s"])
        let step = try Self.pid(box, "slow-1.pid")
        run.signal(SIGTERM)
        let status = run.wait(timeout: 30)
        #expect(!run.terminatedBySignal, "saga run died of the signal: \(run.stderr)")
        #expect(status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("saga term-1 stopped by SIGTERM before it ended; `saga worker` resumes it"), "\(run.stderr)")
        #expect(!processIsAlive(step), "the step's process outlived saga run")
        let saga = try box.show("term-1")
        #expect(saga["owner"] == .null, "the lease is released: \(saga)")
        #expect(
            saga.events("step.unknown").first?["error"]
                == "interrupted: the worker shut down and stopped attempt 1 after a grace of 1s",
            "\(saga.eventTypes)"
        )
        #expect(saga.events("step.started").count == 1, "nothing started after the signal")
        try box.workUntilIdle()
        let done = try box.show("term-1")
        #expect(done["status"] == "completed")
        #expect(done.step("slow")?["attempts"] == 2)
    }

    @Test func sigintLetsTheAttemptInFlightFinishWithinTheGraceAndStartsNothingElse() throws {
        let box = try CLISandbox()
        try Self.twoSteps(box, #"""
            echo $$ > "$SAGA_SCRATCH/slow.pid"
            while [ ! -e "$SAGA_SCRATCH/go" ]; do sleep 0.02; done
            echo '"slow done"'
            """#)
        let run = try box.start(["run", "slow", "--id", "int-1", "--shutdown-grace", "60s"])
        _ = try Self.pid(box, "slow.pid")
        run.signal(SIGINT)
        // The signal was handled (the process is still there), then the step may finish.
        #expect(run.isRunning)
        FileManager.default.createFile(atPath: box.scratchFile("go"), contents: nil)
        let status = run.wait(timeout: 30)
        #expect(!run.terminatedBySignal, "saga run died of the signal: \(run.stderr)")
        #expect(status == 1, "\(run.stderr)")
        let saga = try box.show("int-1")
        #expect(saga.events("step.succeeded").map { $0["step"] } == ["slow"], "\(saga.eventTypes)")
        #expect(saga.events("step.started").count == 1, "the next step did not start after the signal")
        #expect(saga["owner"] == .null)
        try box.workUntilIdle()
        #expect(try box.show("int-1")["status"] == "completed")
        #expect(box.readScratch("effects.log") == "next\n")
    }

    // MARK: Item 5: a dead worker's command is ended before its attempt is settled

    @Test func takingOverEndsTheDeadWorkersCommandBeforeCompensatingIt() throws {
        let box = try CLISandbox()
        // The action waits for `go`, then acts, and says which attempt it was.
        try box.writeScript("act.sh", #"""
            echo $$ > "$SAGA_SCRATCH/act.pid"
            while [ ! -e "$SAGA_SCRATCH/go" ]; do sleep 0.02; done
            echo "action $SAGA_ATTEMPT ok" >> "$SAGA_SCRATCH/effects.log"
            echo '"acted"'
            """#)
        try box.writeScript("undo.sh", #"echo "compensation ok" >> "$SAGA_SCRATCH/effects.log""#)
        try box.writeWorkflow(
            "orphan",
            commandWorkflow(
                "orphan",
                defaults: #"{"retry": {"maxAttempts": 1}, "timeout": "10m"}"#,
                steps: [(name: "act", argv: ["./scripts/act.sh"], extra: #""compensation": {"command": {"argv": ["./scripts/undo.sh"]}}"#)]
            )
        )
        let id = try box.submit(["orphan", "--id", "orphan-1"])
        let worker = try box.start(["worker", "--lease", "30s", "--log-level", "warning"])
        let action = try Self.pid(box, "act.pid")
        worker.signal(SIGKILL)
        _ = worker.wait(timeout: 10)
        #expect(processIsAlive(action), "the command outlives its killed worker (in its own process group)")
        // The next worker ends the orphan before it journals its attempt as interrupted. An interruption does not
        // use up the step's one attempt (rule 17), so the action runs again: only that second attempt may act.
        let next = try box.start(["worker", "--log-level", "warning"])
        defer { next.signal(SIGKILL) }
        #expect(eventually(timeout: 30) { !processIsAlive(action) }, "the dead worker's command still runs")
        #expect(eventually(timeout: 30) {
            box.readScratch("act.pid").flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) } != action
        })
        FileManager.default.createFile(atPath: box.scratchFile("go"), contents: nil)
        #expect(eventually(timeout: 30) { (try? box.show(id))?["status"] == "completed" })
        let saga = try box.show(id)
        #expect(saga.events("step.unknown").first?["error"]?.stringValue?.hasPrefix("interrupted") == true)
        #expect(box.readScratch("effects.log") == "action 2 ok\n", "only the second attempt acted")
    }

    // MARK: Item 7: a bounded shutdown, whatever detached descendants hold

    @Test func workerShutdownIsBoundedWhenAStepsDetachedGrandchildHoldsItsOutput() throws {
        let box = try CLISandbox()
        try Self.twoSteps(box, #"""
            setsid sh -c 'echo $$ > "$SAGA_SCRATCH/detached.pid"; exec sleep 600' &
            echo $$ > "$SAGA_SCRATCH/slow.pid"
            sleep 600
            """#)
        _ = try box.submit(["slow", "--id", "bounded-1"])
        let worker = try box.start(["worker", "--shutdown-grace", "500ms", "--log-level", "warning"])
        let step = try Self.pid(box, "slow.pid")
        let detached = try Self.pid(box, "detached.pid")
        worker.signal(SIGTERM)
        let status = worker.wait(timeout: 30)
        #expect(status == 0, "\(worker.stderr)")
        #expect(!processIsAlive(step))
        #expect(!processIsAlive(detached), "the detached grandchild outlived the shutdown")
        let saga = try box.show("bounded-1")
        #expect(saga["owner"] == .null)
        #expect(saga.events("step.unknown").first?["error"]?.stringValue?.hasPrefix("interrupted: the worker shut down") == true)
    }

    @Test func invalidShutdownGraceIsRefused() throws {
        let box = try CLISandbox()
        for command in [["worker", "--until-idle"], ["run", "order"]] {
            let result = try box.run(command + ["--shutdown-grace", "soon"])
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr == "error: --shutdown-grace must be a duration from 0s to 1h, such as 10s\n")
        }
    }

    // MARK: Item 12: NUL bytes

    @Test func aNULByteFromTheInputFailsTheStepForGoodNamingSagaStepAndArgument() throws {
        let box = try CLISandbox()
        try box.writeWorkflow(
            "reader",
            commandWorkflow("reader", steps: [(name: "read", argv: ["/bin/cat", "${input.path}"], extra: "")])
        )
        let result = try box.run(["run", "reader", "--id", "nul-1", "--input", #"{"path": "/etc/passwd\u0000.txt"}"#])
        #expect(result.status == 1, "\(result)")
        let saga = try box.show("nul-1")
        let failed = saga.events("step.failed")
        #expect(failed.count == 1, "no retry: \(saga.eventTypes)")
        #expect(
            failed.first?["error"]
                == "saga nul-1, step read: argv[1] contains a NUL byte, which would cut it short; the command was not run"
        )
        #expect(saga.step("read")?["output"] == .null, "/etc/passwd was not read")
    }
}
