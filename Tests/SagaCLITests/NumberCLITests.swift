import Foundation
import Sagas
import Testing

/// Numbers through the real `saga` binary and its SQLite journal (issue 14, item 10).
@Suite(.timeLimit(.minutes(2)))
struct NumberCLITests {
    /// A step's output with a big integer and an exact decimal survives parse, journal (read back by another
    /// process after a kill), template and argv byte for byte.
    @Test func aBigNumberReachesTheCompensationUnchanged() throws {
        let box = try CLISandbox()
        try box.writeScript("make.sh", #"echo '{"id": 12345678901234567890, "price": 0.1000000000000000055511151231257827, "n": 1.0}'"#)
        // The first attempt kills the `saga run` process: the worker that recovers reads the output from the journal.
        try box.writeScript("fail.sh", #"if [ "$SAGA_ATTEMPT" = 1 ]; then kill -9 $PPID; sleep 5; fi; exit 100"#)
        try box.writeScript("record.sh", #"printf '%s\n' "$@" > "$SAGA_SCRATCH/undo.txt""#)
        try box.writeWorkflow(
            "big",
            commandWorkflow("big", steps: [
                ("make", ["./scripts/make.sh"],
                 #""compensation": {"command": {"argv": ["./scripts/record.sh", "${steps.make.output.id}", "${steps.make.output.price}", "n=${steps.make.output.n}", "${steps.make.output}"]}}, "probe": {"command": {"argv": ["./scripts/make.sh"]}}"#),
                ("fail", ["./scripts/fail.sh"], #""kind": "readonly""#),
            ])
        )
        let killed = try box.run(["run", "big", "--id", "big-1"])
        #expect(killed.status != 0)
        try box.workUntilIdle()
        #expect(box.readScratch("undo.txt") == """
            12345678901234567890
            0.1000000000000000055511151231257827
            n=1.0
            {"id":12345678901234567890,"n":1.0,"price":0.1000000000000000055511151231257827}

            """)
        let show = try box.run(["show", "big-1", "--json"])
        #expect(show.status == 0)
        #expect(show.stdout.contains("12345678901234567890") && show.stdout.contains("0.1000000000000000055511151231257827"))
        #expect(!show.stdout.contains("e+19"))
        #expect(try show.json()["status"] == "compensated")
    }
}
