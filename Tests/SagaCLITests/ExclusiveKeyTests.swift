import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One saga per key (issue 21), through real `saga worker` processes on one SQLite database: the command steps
/// append their own start and end times to a file, from which overlap and order are checked.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ExclusiveKeyTests {
    /// `acct`: one exclusive key per account (`input.keys`, an array of key templates' values, gives several).
    /// Step `a` (compensable) then `b` (readonly); each marks its start and end in `marks.log` as
    /// `SAGA STEP PHASE start|end NANOSECONDS`. `input.fail` names the step whose action fails; `input.failComp`
    /// = "yes" makes `a`'s compensation fail (the saga then needs intervention).
    static func writeWorkflow(_ box: CLISandbox, exclusive: String = #""account:${input.account}""#) throws {
        try box.writeScript("mark.sh", #"""
            log="$SAGA_SCRATCH/marks.log"
            echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE start $(date +%s%N)" >> "$log"
            sleep "$1"
            if [ "$SAGA_PHASE" = compensation ] && [ "$3" = yes ]; then
                echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE end $(date +%s%N)" >> "$log"; echo "no undo" >&2; exit 100
            fi
            echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE end $(date +%s%N)" >> "$log"
            if [ "$SAGA_PHASE" = action ] && [ "$2" = "$SAGA_STEP" ]; then echo "failed on demand" >&2; exit 100; fi
            echo '{}'
            """#)
        let mark = #"["./scripts/mark.sh", "${input.sleep}", "${input.fail}", "${input.failComp}"]"#
        try box.writeWorkflow("acct", """
            {"name": "acct", "version": 1, "exclusive": \(exclusive),
             "defaults": {"retry": {"maxAttempts": 2, "initialInterval": "10ms", "maxInterval": "20ms"},
                          "compensationRetry": {"maxAttempts": 1}, "timeout": "10s"},
             "steps": [
               {"name": "a", "action": {"command": {"argv": \(mark)}},
                "compensation": {"command": {"argv": \(mark)}}},
               {"name": "b", "kind": "readonly", "action": {"command": {"argv": \(mark)}}}
             ]}
            """)
    }

    static func input(account: String, sleep: String = "0.01", fail: String = "none", failComp: String = "no")
        -> String
    {
        #"{"account": "\#(account)", "sleep": "\#(sleep)", "fail": "\#(fail)", "failComp": "\#(failComp)"}"#
    }

    /// Each saga's span in `marks.log`: from its first start to its last end.
    static func spans(_ box: CLISandbox) -> [String: (start: Int, end: Int)] {
        var spans: [String: (start: Int, end: Int)] = [:]
        for line in (box.readScratch("marks.log") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 5, let t = Int(parts[4]) else { continue }
            let id = String(parts[0])
            let current = spans[id] ?? (t, t)
            spans[id] = (min(current.start, t), max(current.end, t))
        }
        return spans
    }

    static func statuses(_ box: CLISandbox, _ ids: [String]) throws -> [String] {
        try ids.map { try box.show($0)["status"]?.stringValue ?? "?" }
    }

    /// Runs `count` workers until every saga of `ids` is terminal (or `timeout`), then stops them.
    static func work(_ box: CLISandbox, ids: [String], workers count: Int = 2, timeout: TimeInterval = 90,
                     during: (([SagaProcess]) throws -> Void)? = nil) throws -> Bool {
        var workers = try (0..<count).map { _ in try box.start(["worker", "--concurrency", "4", "--lease", "2s"]) }
        defer {
            for w in workers { w.signal(SIGTERM) }
            for w in workers { _ = w.wait(timeout: 20) }
        }
        if let during {
            try during(workers)
            workers.append(try box.start(["worker", "--concurrency", "4", "--lease", "2s"]))
        }
        return try eventually(timeout: timeout) {
            let result = try box.run(["list", "--status", "pending", "--status", "running", "--status", "compensating", "--json"])
            return result.status == 0 && (try? result.json())?.arrayValue?.isEmpty == true
        }
    }

    @Test func fiftySagasOnOneKeyNeverOverlapAndRunInSubmissionOrder() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        // Every fifth saga fails at `b` and compensates `a`: its span ends with the compensation.
        let ids = try (0..<50).map { n in
            try box.submit(["acct", "--input", Self.input(account: "1", fail: n % 5 == 0 ? "b" : "none")])
        }
        // The second saga waits for the first's key, which shows in `saga show`.
        let waiting = try box.run(["show", ids[1]])
        #expect(waiting.stdout.contains("account:1"), "\(waiting)")
        #expect(try Self.work(box, ids: ids))
        let statuses = try Self.statuses(box, ids)
        #expect(statuses.enumerated().allSatisfy { $0.element == ($0.offset % 5 == 0 ? "compensated" : "completed") },
                "\(statuses)")
        let spans = Self.spans(box)
        #expect(spans.count == 50)
        let ordered = ids.compactMap { id in spans[id].map { (id, $0) } }
        for (earlier, later) in zip(ordered, ordered.dropFirst()) {
            #expect(earlier.1.end <= later.1.start, "\(earlier.0) overlaps \(later.0), or ran after it")
        }
    }

    @Test func differentKeysOverlap() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        let ids = try (0..<6).map { n in try box.submit(["acct", "--input", Self.input(account: "\(n)", sleep: "0.5")]) }
        #expect(try Self.work(box, ids: ids))
        #expect(try Self.statuses(box, ids) == Array(repeating: "completed", count: 6))
        let spans = Self.spans(box).values.sorted { $0.start < $1.start }
        let overlapping = zip(spans, spans.dropFirst()).contains { $0.end > $1.start }
        #expect(overlapping, "sagas with different keys ran one after the other")
    }

    @Test func twoKeysInOppositeOrdersBothFinish() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box, exclusive: #"["acct:${input.first}", "acct:${input.second}"]"#)
        var ids: [String] = []
        for n in 0..<10 {
            let (first, second) = n % 2 == 0 ? ("A", "B") : ("B", "A")
            ids.append(try box.submit([
                "acct", "--input",
                #"{"first": "\#(first)", "second": "\#(second)", "sleep": "0.01", "fail": "none", "failComp": "no"}"#,
            ]))
        }
        #expect(try Self.work(box, ids: ids))
        #expect(try Self.statuses(box, ids) == Array(repeating: "completed", count: 10))
        let ordered = ids.compactMap { Self.spans(box)[$0] }
        #expect(ordered.count == 10)
        for (earlier, later) in zip(ordered, ordered.dropFirst()) { #expect(earlier.end <= later.start) }
    }

    @Test func aSagaThatNeedsInterventionKeepsItsKeyUntilSettled() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        let parked = try box.submit(["acct", "--input", Self.input(account: "7", fail: "b", failComp: "yes")])
        let next = try box.submit(["acct", "--input", Self.input(account: "7")])
        let worker = try box.start(["worker", "--concurrency", "4"])
        defer {
            worker.signal(SIGTERM)
            _ = worker.wait(timeout: 20)
        }
        #expect(try eventually(timeout: 30) { try box.show(parked)["status"] == "needs_intervention" })
        // Well past a claim poll: the next saga still waits, and says for whom.
        usleep(1_500_000)
        let shown = try box.show(next)
        #expect(shown["status"] == "pending")
        #expect(shown["waitsFor"]?["keys"]?.arrayValue?.first?["holder"]?.stringValue == parked, "\(shown)")
        let text = try box.run(["show", next])
        #expect(text.stdout.contains("waits for key account:7, held by saga \(parked)"), "\(text)")
        let stuck = try box.run(["list", "--stuck"])
        #expect(stuck.status == 0)
        let stats = try box.run(["stats", "--json"]).json()
        let held = stats["exclusiveKeys"]?["heldKeys"]?.arrayValue?.first
        #expect(held?["key"] == "account:7" && held?["holder"]?.stringValue == parked && held?["waiting"] == 1, "\(stats)")
        let plan = try box.run(["plan", next, "--json"]).json()
        #expect(plan["needs"]?["exclusiveKeys"] == ["account:7"], "\(plan)")
        let terminated = try box.run(["terminate", parked, "--reason", "settled by hand", "--by", "test"])
        #expect(terminated.status == 0, "\(terminated)")
        #expect(try eventually(timeout: 30) { try box.show(next)["status"] == "completed" })
    }

    @Test func killedWorkersLeakNoKeyAndNothingOverlaps() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box)
        let ids = try (0..<16).map { n in
            try box.submit(["acct", "--input", Self.input(account: "\(n % 2)", sleep: "0.1", fail: n % 4 == 0 ? "b" : "none")])
        }
        let finished = try Self.work(box, ids: ids, timeout: 120) { workers in
            // Kill both workers while sagas hold keys, twice over, starting a new one each time.
            usleep(700_000)
            workers[0].signal(SIGKILL)
            _ = workers[0].wait(timeout: 10)
            usleep(700_000)
            workers[1].signal(SIGKILL)
            _ = workers[1].wait(timeout: 10)
        }
        #expect(finished)
        let statuses = try Self.statuses(box, ids)
        #expect(statuses.allSatisfy { $0 == "completed" || $0 == "compensated" }, "\(statuses)")
        let spans = Self.spans(box)
        for account in 0..<2 {
            let ordered = ids.enumerated().filter { $0.offset % 2 == account }.compactMap { spans[$0.element] }
            #expect(ordered.count == 8)
            for (earlier, later) in zip(ordered, ordered.dropFirst()) {
                #expect(earlier.end <= later.start, "account \(account): two sagas overlapped")
            }
        }
    }
}
