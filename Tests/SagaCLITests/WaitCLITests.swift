import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Steps that wait for a signal (`"await"`), through the real `saga` binary: `saga signal`, timeouts, stale and
/// duplicate signals, a worker killed while a saga waits.
@Suite(.timeLimit(.minutes(3)))
struct WaitCLITests {
    /// The sandbox of each main case: SQLite here; `PostgresWaitCLITests` runs the same cases on PostgreSQL.
    var makeSandbox: @Sendable () throws -> CLISandbox = { try CLISandbox() }

    /// reserve (compensable) → pay (waits for a signal, compensable) → ship (reads the signal's output).
    static func workflow(timeout: String = "1h", attempts: Int = 1) -> String {
        """
        {"name": "waits", "version": 1,
         "defaults": {"retry": {"maxAttempts": \(attempts), "initialInterval": "10ms", "maxInterval": "10ms"}},
         "steps": [
          {"name": "reserve", "action": {"command": {"argv": ["true"]}},
           "compensation": {"command": {"argv": ["sh", "-c", "echo undone >> \\"$SAGA_SCRATCH/undo-reserve\\""]}}},
          {"name": "pay",
           "action": {"command": {"argv": ["sh", "-c",
             "echo \\"$0\\" > \\"$SAGA_SCRATCH/token-$1\\"; echo '{\\"accepted\\": true}'", "${step.token}", "${saga.id}"]}},
           "compensation": {"command": {"argv": ["sh", "-c", "echo undone >> \\"$SAGA_SCRATCH/undo-pay\\""]}},
           "await": {"timeout": "\(timeout)"}},
          {"name": "ship", "kind": "readonly",
           "action": {"command": {"argv": ["echo", "{\\"charge\\": \\"${steps.pay.output.charge}\\"}"]}}}
         ]}
        """
    }

    func token(_ box: CLISandbox, _ id: String) -> String {
        (box.readScratch("token-\(id)") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Submits a saga and works until it waits; returns its id.
    func startWaiting(_ box: CLISandbox, id: String) throws -> String {
        _ = try box.submit(["waits", "--id", id])
        try box.workUntilIdle()
        let shown = try box.show(id)
        #expect(shown["status"] == "waiting", "\(shown)")
        #expect(shown.step("pay")?["status"] == "waiting")
        #expect(!token(box, id).isEmpty)
        return id
    }

    @Test func signalledOutputCompletesTheSaga() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("waits", Self.workflow())
        let id = try startWaiting(box, id: "w-ok")
        let shown = try box.show(id)
        let waits = shown["waits"]?.arrayValue ?? []
        #expect(waits.count == 1)
        #expect(waits.first?["step"] == "pay")
        #expect(waits.first?["for"] == "signal")
        #expect(waits.first?["until"]?.stringValue != nil)
        let text = try box.run(["show", id])
        #expect(text.stdout.contains("pay waits for a signal (attempt 1) until "), "\(text)")
        // The token is a credential: `saga show` never prints it.
        #expect(!text.stdout.contains(token(box, id)))
        #expect(!(try box.run(["show", id, "--json"]).stdout.contains(token(box, id))))
        // No worker holds a waiting saga.
        #expect(shown["owner"] == .null)
        let listed = try box.run(["list", "--status", "waiting", "--json"])
        #expect(listed.stdout.contains(id), "\(listed)")

        let signal = try box.run([
            "signal", id, "pay", "--token", token(box, id), "--output", #"{"charge": "ch_1"}"#, "--json",
        ])
        #expect(signal.status == 0, "\(signal)")
        #expect(try signal.json()["disposition"] == "resolved")
        #expect(try box.show(id)["status"] == "running")
        try box.workUntilIdle()
        let done = try box.show(id)
        #expect(done["status"] == "completed", "\(done)")
        #expect(done.step("ship")?["output"]?["charge"] == "ch_1")
        #expect(done.events("step.signalled").count == 1)
        #expect(done.events("step.signalled").first?["data"]?["by"]?.stringValue != nil)
    }

    @Test func duplicateStaleAndWrongTokenSignals() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("waits", Self.workflow(attempts: 2))
        let id = try startWaiting(box, id: "w-dup")
        let first = token(box, id)

        let wrong = try box.run(["signal", id, "pay", "--token", "0123456789abcdef0123456789abcdef", "--output", "{}"])
        #expect(wrong.status == 2, "\(wrong)")
        #expect(wrong.stderr.contains("the token does not belong to any attempt of step 'pay'"))

        let failed = try box.run(["signal", id, "pay", "--token", first, "--error", "card declined"])
        #expect(failed.status == 0, "\(failed)")
        // The same signal again: accepted, nothing new journaled.
        let before = try box.show(id).events.count
        let again = try box.run(["signal", id, "pay", "--token", first, "--error", "card declined", "--json"])
        #expect(again.status == 0, "\(again)")
        #expect(try again.json()["disposition"] == "duplicate")
        #expect(try box.show(id).events.count == before)
        // Another outcome for the same attempt: refused.
        let conflicting = try box.run(["signal", id, "pay", "--token", first, "--output", "{}"])
        #expect(conflicting.status == 4, "\(conflicting)")
        #expect(conflicting.stderr.contains("already signalled"))

        // The retry policy allows a second attempt: a new call, a new token.
        try box.workUntilIdle()
        let second = token(box, id)
        #expect(second != first && !second.isEmpty)
        #expect(try box.show(id).step("pay")?["attempts"] == 2)
        // The first attempt's token no longer settles anything.
        let stale = try box.run(["signal", id, "pay", "--token", first, "--output", "{}", "--json"])
        #expect(stale.status == 4, "\(stale)")
        #expect(stale.stderr.contains("no longer waits"), "\(stale)")

        let permanent = try box.run(["signal", id, "pay", "--token", second, "--error", "fraud", "--permanent"])
        #expect(permanent.status == 0, "\(permanent)")
        try box.workUntilIdle()
        let done = try box.show(id)
        #expect(done["status"] == "compensated", "\(done)")
        // The service said the payment failed: only the reservation is undone.
        #expect(box.readScratch("undo-reserve") == "undone\n")
        #expect(box.readScratch("undo-pay") == nil)

        let finished = try box.run(["signal", id, "pay", "--token", second, "--output", "{}"])
        #expect(finished.status == 4, "\(finished)")
    }

    @Test func aWaitThatTimesOutIsCompensated() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("waits", Self.workflow(timeout: "1s"))
        let id = try startWaiting(box, id: "w-timeout")
        usleep(1_300_000)
        try box.workUntilIdle()
        let done = try box.show(id)
        #expect(done["status"] == "compensated", "\(done)")
        #expect(done.events("step.wait_timed_out").count == 1)
        // The call that started the payment returned and no outcome came: it may have been taken, so it is undone.
        #expect(box.readScratch("undo-pay") == "undone\n")
        #expect(box.readScratch("undo-reserve") == "undone\n")
        let late = try box.run(["signal", id, "pay", "--token", token(box, id), "--output", "{}"])
        #expect(late.status == 4, "\(late)")
    }

    @Test func cancellingAWaitingSagaEndsTheWaitAtOnce() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("waits", Self.workflow())
        let id = try startWaiting(box, id: "w-cancel")
        let cancel = try box.run(["cancel", id, "--reason", "customer withdrew"])
        #expect(cancel.status == 0, "\(cancel)")
        try box.workUntilIdle()
        let done = try box.show(id)
        #expect(done["status"] == "compensated", "\(done)")
        #expect(box.readScratch("undo-pay") == "undone\n")
        let late = try box.run(["signal", id, "pay", "--token", token(box, id), "--output", "{}"])
        #expect(late.status == 4, "\(late)")
    }

    @Test func aSignalSentWhileNoWorkerRunsIsCarriedOnByANewWorker() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("waits", Self.workflow())
        _ = try box.submit(["waits", "--id", "w-kill"])
        let worker = try box.start(["worker"])
        let waiting = try eventually(timeout: 20) { try box.show("w-kill")["status"] == "waiting" }
        #expect(waiting)
        worker.signal(SIGKILL)
        _ = worker.wait(timeout: 10)
        let signal = try box.run(["signal", "w-kill", "pay", "--token", token(box, "w-kill"), "--output", #"{"charge": "ch_9"}"#])
        #expect(signal.status == 0, "\(signal)")
        try box.workUntilIdle()
        let done = try box.show("w-kill")
        #expect(done["status"] == "completed", "\(done)")
        #expect(done.step("ship")?["output"]?["charge"] == "ch_9")
    }

    @Test func validateKnowsWaits() throws {
        let box = try CLISandbox()
        let misplaced = try box.writeWorkflow(
            "tokens",
            commandWorkflow("tokens", steps: [
                (name: "a", argv: ["echo", "${step.token}"], extra: #""kind": "readonly""#),
                (name: "b", argv: ["true"], extra: #""kind": "readonly", "await": {"timeout": "500d"}"#),
            ])
        )
        let result = try box.run(["validate", misplaced])
        #expect(result.status != 0, "\(result)")
        let all = result.stdout + result.stderr
        #expect(all.contains("${step.token} is the callback token of a step that waits"), "\(all)")
        #expect(all.contains("a step waits at most 365d"), "\(all)")
        #expect(all.contains("tokens.json:"), "\(all)")
        let good = try box.writeWorkflow("waits", Self.workflow())
        #expect(try box.run(["validate", good]).status == 0)
    }

    /// A step's own `timeout` bounds only its action's call: one as long as the wait reads as if it covered it.
    @Test func validateWarnsOfAStepTimeoutThatReadsAsTheWaitsBound() throws {
        let box = try CLISandbox()
        let path = try box.writeWorkflow("bounds", """
            {"name": "bounds", "version": 1, "steps": [
              {"name": "pay", "kind": "readonly", "timeout": "2h",
               "action": {"command": {"argv": ["echo", "${step.token}"]}}, "await": {"timeout": "1h"}},
              {"name": "book", "kind": "readonly", "timeout": "1h", "after": ["pay"],
               "action": {"command": {"argv": ["echo", "${step.token}"]}}, "await": {"timeout": "1h"}},
              {"name": "ship", "kind": "readonly", "timeout": "30s", "after": ["book"],
               "action": {"command": {"argv": ["echo", "${step.token}"]}}, "await": {"timeout": "1h"}},
              {"name": "mail", "kind": "readonly", "after": ["ship"], "action": {"command": {"argv": ["true"]}}}
            ]}
            """)
        let result = try box.run(["validate", path])
        // A warning, not an error.
        #expect(result.status == 0, "\(result)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let warnings = lines.filter { $0.contains(": warning: ") && $0.contains("await.timeout") }
        #expect(warnings.count == 2, "\(result)")
        #expect(warnings.first?.hasPrefix("\(path):2:50: warning: step 'pay' has \"timeout\": 2h, not shorter than "
            + "its \"await.timeout\" of 1h: the step's 'timeout' bounds only its action's call") == true, "\(warnings)")
        #expect(warnings.first?.contains("an attempt may last 2h + 1h") == true, "\(warnings)")
        #expect(warnings.last?.hasPrefix("\(path):4:51: warning: step 'book' has \"timeout\": 1h") == true, "\(warnings)")
        #expect(!result.stdout.contains("step 'ship' has"), "\(result)")
        // With --strict the warning fails validation.
        #expect(try box.run(["validate", "--strict", path]).status != 0)
    }

    @Test func aTimerFiresAfterARestart() throws {
        let box = try makeSandbox()
        try box.writeWorkflow("timer", """
            {"name": "timer", "version": 1, "input": {"type": "object", "required": ["deliverAt"]},
             "steps": [
              {"name": "nap", "kind": "readonly", "action": {"sleep": "1s"}},
              {"name": "deliver", "kind": "readonly", "action": {"sleepUntil": "${input.deliverAt}"}},
              {"name": "done", "kind": "readonly",
               "action": {"command": {"argv": ["echo", "{\\"at\\": \\"${steps.deliver.output.until}\\"}"]}}}
             ]}
            """)
        let deliverAt = SagaTime.format(Date().addingTimeInterval(2.5))
        _ = try box.submit(["timer", "--id", "t-1", "--input", #"{"deliverAt": "\#(deliverAt)"}"#])
        // A worker starts the timers and is killed while the saga sleeps.
        let worker = try box.start(["worker"])
        let sleeping = try eventually(timeout: 20) { try box.show("t-1")["status"] == "waiting" }
        #expect(sleeping)
        worker.signal(SIGKILL)
        _ = worker.wait(timeout: 10)
        #expect(try box.show("t-1")["waits"]?.arrayValue?.first?["for"] == "timer")
        usleep(3_000_000)
        // A new worker finds the timers due and carries on.
        try box.workUntilIdle()
        let done = try box.show("t-1")
        #expect(done["status"] == "completed", "\(done)")
        #expect(done.events("step.timer_fired").count == 2)
        #expect(done.step("done")?["output"]?["at"]?.stringValue == deliverAt)
    }

    @Test func cancellingASleepingSagaEndsTheTimerAtOnce() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("nap", """
            {"name": "nap", "version": 1, "steps": [
              {"name": "book", "action": {"command": {"argv": ["true"]}},
               "compensation": {"command": {"argv": ["sh", "-c", "echo undone > \\"$SAGA_SCRATCH/undo-book\\""]}}},
              {"name": "nap", "kind": "readonly", "action": {"sleep": "1h"}}
            ]}
            """)
        _ = try box.submit(["nap", "--id", "n-1"])
        try box.workUntilIdle()
        #expect(try box.show("n-1")["status"] == "waiting")
        #expect(try box.run(["cancel", "n-1"]).status == 0)
        try box.workUntilIdle()
        let done = try box.show("n-1")
        #expect(done["status"] == "compensated", "\(done)")
        #expect(box.readScratch("undo-book") == "undone\n")
    }

    /// The shipped example: the order saga waiting for its payment provider's callback, the provider played by
    /// `Workflows/scripts/payment-provider.sh settle`.
    @Test(arguments: [false, true])
    func theShippedCallbackExample(decline: Bool) throws {
        let box = try CLISandbox()
        let id = try box.submit(["order-callback", "--input", #"{"orderId": "cb-1"}"#])
        try box.workUntilIdle()
        #expect(try box.show(id)["status"] == "waiting")
        #expect(box.readScratch("order-cb-1.log")?.contains("charge-payment requested") == true)
        let provider = Process()
        provider.executableURL = URL(fileURLWithPath: "/bin/sh")
        provider.arguments = ["\(cliPackageRoot)/Workflows/scripts/payment-provider.sh", "settle"] + (decline ? ["--decline"] : [])
        provider.environment = box.environment.merging(["SAGA_BIN": CLISandbox.binary]) { $1 }
        provider.standardInput = FileHandle.nullDevice
        try provider.run()
        provider.waitUntilExit()
        #expect(provider.terminationStatus == 0)
        try box.workUntilIdle()
        usleep(1_200_000)  // the cool-off timer
        try box.workUntilIdle()
        let done = try box.show(id)
        if decline {
            #expect(done["status"] == "compensated", "\(done)")
            #expect(done.step("charge-payment")?["status"] == "failed")
        } else {
            #expect(done["status"] == "completed", "\(done)")
            #expect(done.step("charge-payment")?["output"]?["chargeId"] == "ch-cb-1")
            #expect(done.events("step.timer_fired").count == 1)
        }
    }
}
