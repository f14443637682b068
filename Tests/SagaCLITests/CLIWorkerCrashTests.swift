import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `saga worker` options and exit codes.
@Suite(.timeLimit(.minutes(2)))
struct CLIWorkerTests {
    @Test
    func untilIdleExitsZero() throws {
        let box = try CLISandbox()
        let id = try box.submit(["order", "--input", #"{"orderId":"idle-1"}"#])
        let result = try box.run(["worker", "--until-idle"])
        #expect(result.status == 0, "\(result)")
        #expect(!result.stderr.contains("Error:"))
        #expect(try box.show(id)["status"] == "completed")
        // With nothing to do at all, too.
        #expect(try box.run(["worker", "--until-idle"]).status == 0)
    }

    @Test func untilIdleRunsEverythingThatIsPending() throws {
        let box = try CLISandbox()
        let ids = try (1...3).map { try box.submit(["order", "--input", #"{"orderId":"idle-\#($0)"}"#]) }
        try box.workUntilIdle(["--concurrency", "2"])
        for id in ids { #expect(try box.show(id)["status"] == "completed") }
    }

    @Test(arguments: [
        (["--concurrency", "0"], "--concurrency must be between 1 and 10000"),
        (["--lease", "10ms"], "--lease must be a duration of at least 100ms, such as 15s"),
        (["--lease", "soon"], "--lease must be a duration of at least 100ms, such as 15s"),
    ])
    func invalidOptions(_ arguments: [String], _ message: String) throws {
        let box = try CLISandbox()
        let result = try box.run(["worker", "--until-idle"] + arguments)
        #expect(result.status == 2)
        #expect(result.stderr == "error: \(message)\n")
    }
}

/// Workers killed by SIGKILL and SIGTERM, and workers racing each other, with real processes.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct CLIWorkerCrashTests {
    static let stepNames = ["a", "b", "c", "d", "e"]

    /// Five compensable steps; each sleeps `${input.dSTEP}` seconds, then appends
    /// `STEP PHASE ATTEMPT KEY` to `$SAGA_SCRATCH/effects-$SAGA_ID.log`. The action of the step named by
    /// `input.failAt` fails permanently instead.
    static func writeChaosWorkflow(_ box: CLISandbox) throws {
        try box.writeScript("chaos.sh", #"""
            sleep "$1"
            if [ "$SAGA_PHASE" = action ] && [ "$2" = "$SAGA_STEP" ]; then echo "failed on demand" >&2; exit 100; fi
            echo "$SAGA_STEP $SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/effects-$SAGA_ID.log"
            echo "{\"step\": \"$SAGA_STEP\", \"attempt\": $SAGA_ATTEMPT}"
            """#)
        let steps = stepNames.map { name in
            let argv = ["./scripts/chaos.sh", "${input.d\(name)}", "${input.failAt}"]
            let compensation = #""compensation": {"command": {"argv": ["./scripts/chaos.sh", "0.01", "none"]}}"#
            return (name: name, argv: argv, extra: compensation)
        }
        try box.writeWorkflow(
            "chaos",
            commandWorkflow(
                "chaos",
                defaults: #"{"retry": {"maxAttempts": 10, "initialInterval": "10ms", "maxInterval": "50ms"}, "compensationRetry": {"maxAttempts": 10, "initialInterval": "10ms", "maxInterval": "50ms"}, "timeout": "10s"}"#,
                steps: steps
            )
        )
    }

    /// A random input for the chaos workflow: delays of 0 to 50ms, and every third saga fails at a random step.
    static func chaosInput(_ n: Int) -> (json: String, failAt: String) {
        let failAt = n % 3 == 0 ? stepNames.randomElement()! : "none"
        var fields = stepNames.map { #""d\#($0)": "0.0\#(Int.random(in: 0...5))""# }
        fields.append(#""failAt": "\#(failAt)""#)
        return ("{" + fields.joined(separator: ", ") + "}", failAt)
    }

    /// What the effects file of one saga says: lines `STEP PHASE ATTEMPT KEY`.
    struct Effect: Hashable {
        var step: String
        var phase: String
        var key: String
    }

    static func effects(_ box: CLISandbox, _ id: String) -> [Effect] {
        (box.readScratch("effects-\(id).log") ?? "").split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ").map(String.init)
            guard parts.count == 4 else { return nil }
            return Effect(step: parts[0], phase: parts[1], key: parts[3])
        }
    }

    /// Checks the journal of a finished chaos saga; returns how many duplicate effects its file shows.
    static func checkChaosSaga(_ box: CLISandbox, id: String, failAt: String) throws -> (duplicates: Int, interrupted: Int) {
        let saga = try box.show(id)
        let expected = failAt == "none" ? "completed" : "compensated"
        #expect(saga["status"] == .string(expected), "saga \(id) (failAt \(failAt)) ended \(saga["status"] ?? .null)")
        let seqs = saga.events.compactMap { $0["seq"]?.intValue }
        #expect(seqs == Array(1...max(1, saga.events.count)), "saga \(id) has gaps in its journal: \(seqs)")

        // Every attempt of a step (or of its compensation) carried the step's one key.
        for event in saga.events("step.started") + saga.events("compensation.started") {
            let step = event["step"]?.stringValue ?? "?"
            let phase = event["type"] == "step.started" ? "action" : "compensation"
            #expect(event["idempotencyKey"] == .string("\(id)/\(step)/\(phase)"), "saga \(id): \(event)")
        }
        let succeeded = saga.events("step.succeeded").compactMap { $0["step"]?.stringValue }
        let failIndex = stepNames.firstIndex(of: failAt) ?? stepNames.count
        #expect(succeeded == Array(stepNames[..<failIndex]), "saga \(id)")

        // Compensations: the steps that succeeded, in reverse order, each once (plus the failed step only when one
        // of its attempts had an unknown outcome, first).
        let compensated = saga.events("compensation.succeeded").compactMap { $0["step"]?.stringValue }
        let expectedCompensations = failAt == "none" ? [] : Array(stepNames[..<failIndex].reversed())
        let unknownFailedStep = saga.events("step.unknown").contains { $0["step"] == .string(failAt) }
        #expect(compensated == (unknownFailedStep ? [failAt] + expectedCompensations : expectedCompensations), "saga \(id)")

        // The effects: at least once for what succeeded, never for what did not run, the same key on duplicates.
        let effects = Self.effects(box, id)
        for effect in effects {
            #expect(effect.key == "\(id)/\(effect.step)/\(effect.phase)", "saga \(id): \(effect)")
        }
        let actions = Set(effects.filter { $0.phase == "action" }.map(\.step))
        #expect(actions == Set(succeeded), "saga \(id)")
        let undone = Set(effects.filter { $0.phase == "compensation" }.map(\.step))
        #expect(undone == Set(compensated), "saga \(id)")
        let interrupted = saga.events.filter {
            ($0["type"] == "step.unknown" || $0["type"] == "compensation.unknown")
                && $0["error"]?.stringValue?.hasPrefix("interrupted") == true
        }.count
        return (effects.count - Set(effects).count, interrupted)
    }

    @Test func sigkillAtRandomMomentsLosesNothing() throws {
        let box = try CLISandbox()
        try Self.writeChaosWorkflow(box)
        var sagas: [(id: String, failAt: String)] = []
        for n in 0..<40 {
            let input = Self.chaosInput(n)
            let id = String(format: "chaos-%02d", n)
            #expect(try box.submit(["chaos", "--id", id, "--input", input.json]) == id)
            sagas.append((id, input.failAt))
        }

        let started = Date()
        var worker = try box.start(["worker", "--concurrency", "8", "--lease", "1s", "--log-level", "warning"])
        var kills = 0
        for round in 1...6 {
            usleep(UInt32.random(in: 200_000...800_000))
            worker.signal(SIGKILL)
            #expect(worker.wait(timeout: 10) != nil)
            #expect(worker.terminatedBySignal, "worker \(round) exited before it was killed: \(worker.stderr)")
            kills += 1
            if round < 6 {
                worker = try box.start(["worker", "--concurrency", "8", "--lease", "1s", "--log-level", "warning"])
            }
        }
        let before = try box.run(["list", "--json", "--limit", "100"]).json().arrayValue ?? []
        let unfinished = before.filter { !["completed", "compensated"].contains($0["status"]?.stringValue ?? "") }.count
        try box.workUntilIdle(["--lease", "1s", "--concurrency", "8", "--log-level", "warning"], timeout: 90)
        let elapsed = Date().timeIntervalSince(started)

        var duplicates = 0
        var interrupted = 0
        for saga in sagas {
            let found = try Self.checkChaosSaga(box, id: saga.id, failAt: saga.failAt)
            duplicates += found.duplicates
            interrupted += found.interrupted
        }
        print(
            "sigkill chaos: \(kills) kills, \(unfinished) of \(sagas.count) sagas unfinished after them, "
                + "\(interrupted) interrupted attempts recovered, \(duplicates) duplicate effects, \(Int(elapsed))s"
        )
        // The kills must have hit attempts in progress, or this test proves nothing.
        #expect(interrupted > 0)
    }

    @Test func twoWorkersNeverRunOneSagaAtOnce() throws {
        let box = try CLISandbox()
        try box.writeScript("logged.sh", #"""
            log="$SAGA_SCRATCH/attempts.log"
            echo "start $SAGA_ID $SAGA_STEP $PPID $(date +%s.%N)" >> "$log"
            sleep "$1"
            echo "end $SAGA_ID $SAGA_STEP $PPID $(date +%s.%N)" >> "$log"
            echo "{\"worker\": $PPID}"
            """#)
        try box.writeWorkflow(
            "shared",
            commandWorkflow("shared", steps: ["a", "b", "c"].map { name in
                (name: name, argv: ["./scripts/logged.sh", "${input.d\(name)}"], extra: #""kind": "readonly""#)
            })
        )
        var ids: [String] = []
        for n in 0..<30 {
            let input = "{" + ["a", "b", "c"].map { #""d\#($0)": "0.0\#(Int.random(in: 0...5))""# }.joined(separator: ", ") + "}"
            ids.append(try box.submit(["shared", "--id", "shared-\(n)", "--input", input]))
        }
        let arguments = ["worker", "--until-idle", "--concurrency", "4", "--log-level", "warning"]
        let first = try box.start(arguments)
        let second = try box.start(arguments)
        for worker in [first, second] {
            let status = worker.wait(timeout: 90)
            #expect(status == 0 || (status == 1 && worker.stderr.contains("A service has finished unexpectedly")), "\(worker.stderr)")
        }
        for id in ids {
            #expect(try box.show(id)["status"] == "completed", "saga \(id)")
        }

        struct Attempt { var step: String; var worker: String; var start: Double; var end: Double }
        var open: [String: (worker: String, start: Double)] = [:]
        var attempts: [String: [Attempt]] = [:]
        let log = try #require(box.readScratch("attempts.log"))
        for line in log.split(separator: "\n") {
            let parts = line.split(separator: " ").map(String.init)
            try #require(parts.count == 5, "bad line: \(line)")
            let key = "\(parts[1]) \(parts[2]) \(parts[3])"
            let time = try #require(Double(parts[4]))
            if parts[0] == "start" {
                open[key] = (parts[3], time)
            } else {
                let removed = open.removeValue(forKey: key)
                let begun = try #require(removed, "end without start: \(line)")
                attempts[parts[1], default: []].append(Attempt(step: parts[2], worker: parts[3], start: begun.start, end: time))
            }
        }
        #expect(open.isEmpty, "attempts that never ended: \(open)")
        #expect(Set(attempts.keys) == Set(ids))
        for (id, list) in attempts {
            #expect(list.map(\.step) == ["a", "b", "c"], "saga \(id) ran \(list.map(\.step))")
            for x in list {
                for y in list where x.worker != y.worker {
                    #expect(x.end <= y.start || y.end <= x.start, "saga \(id): workers \(x.worker) and \(y.worker) overlap")
                }
            }
        }
        let workers = Set(attempts.values.flatMap { $0.map(\.worker) })
        #expect(workers == [String(first.pid), String(second.pid)], "both workers should have taken sagas: \(workers)")
    }

    @Test func sigtermStopsAWorkerCleanly() throws {
        let box = try CLISandbox()
        try box.writeScript("slow.sh", #"""
            sleep 0.3
            echo "$SAGA_STEP $SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/effects-$SAGA_ID.log"
            echo '{}'
            """#)
        try box.writeWorkflow(
            "slow",
            commandWorkflow("slow", steps: ["a", "b", "c"].map { (name: $0, argv: ["./scripts/slow.sh"], extra: #""kind": "readonly""#) })
        )
        let ids = try (0..<10).map { try box.submit(["slow", "--id", "slow-\($0)"]) }
        let worker = try box.start(["worker", "--concurrency", "4", "--lease", "2s"])
        let busy = try eventually(timeout: 20) {
            let rows = try box.run(["list", "--json", "--status", "running"]).json().arrayValue ?? []
            return !rows.isEmpty
        }
        try #require(busy, "the worker never started a saga: \(worker.stderr)")
        let signalled = Date()
        worker.signal(SIGTERM)
        let status = worker.wait(timeout: 10)
        #expect(status == 0, "\(worker.stderr)")
        #expect(Date().timeIntervalSince(signalled) < 5)
        #expect(!worker.terminatedBySignal)

        try box.workUntilIdle(["--lease", "2s"])
        for id in ids {
            let saga = try box.show(id)
            #expect(saga["status"] == "completed", "saga \(id)")
            // The attempts in flight at SIGTERM finished and were journaled: no outcome is unknown.
            #expect(saga.events("step.unknown").isEmpty, "saga \(id): \(saga.eventTypes)")
            #expect(saga.steps.allSatisfy { $0["attempts"] == 1 }, "saga \(id)")
            #expect(Self.effects(box, id).map(\.step) == ["a", "b", "c"], "saga \(id)")
        }
    }
}
