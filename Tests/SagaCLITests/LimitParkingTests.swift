import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A step waiting for a named limit's slot holds no worker slot (issue 21): the worker parks its saga and runs
/// other work meanwhile; the parked sagas are still served in order.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LimitParkingTests {
    /// `svc` calls one limited step; `free` calls an unlimited one. Both mark their start and end in `marks.log`.
    static func writeWorkflows(_ box: CLISandbox) throws {
        try box.writeScript("mark.sh", #"""
            log="$SAGA_SCRATCH/marks.log"
            echo "$SAGA_ID $SAGA_STEP start $(date +%s%N)" >> "$log"
            sleep "$1"
            echo "$SAGA_ID $SAGA_STEP end $(date +%s%N)" >> "$log"
            echo '{}'
            """#)
        try box.writeWorkflow("svc", """
            {"name": "svc", "version": 1, "limits": {"svc": {"concurrency": 1}}, "defaults": {"timeout": "20s"},
             "steps": [
               {"name": "call", "kind": "readonly", "limit": "svc",
                "action": {"command": {"argv": ["./scripts/mark.sh", "${input.sleep}"]}}}
             ]}
            """)
        try box.writeWorkflow("free", """
            {"name": "free", "version": 1, "defaults": {"timeout": "20s"},
             "steps": [{"name": "work", "kind": "readonly", "action": {"command": {"argv": ["./scripts/mark.sh", "0"]}}}]}
            """)
    }

    /// Each saga's first start and last end of a step, in nanoseconds.
    static func marks(_ box: CLISandbox) -> [String: (start: Int, end: Int)] {
        var result: [String: (start: Int, end: Int)] = [:]
        for line in (box.readScratch("marks.log") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 4, let t = Int(parts[3]) else { continue }
            let id = String(parts[0])
            var entry = result[id] ?? (start: Int.max, end: 0)
            if parts[2] == "start" { entry.start = min(entry.start, t) } else { entry.end = max(entry.end, t) }
            result[id] = entry
        }
        return result
    }

    @Test func sagasWaitingForALimitLeaveTheWorkerSlotsToOtherWork() throws {
        let box = try CLISandbox()
        try Self.writeWorkflows(box)
        // One saga holds the only slot for 6 s; ten more wait behind it; then one saga of another workflow.
        _ = try box.submit(["svc", "--input", #"{"sleep": "6"}"#, "--id", "slow"])
        let worker = try box.start(["worker", "--concurrency", "2", "--lease", "5s"])
        defer {
            worker.signal(SIGTERM)
            _ = worker.wait(timeout: 20)
        }
        #expect(try eventually(timeout: 30) { Self.marks(box)["slow"] != nil }, "the slow saga never started")
        let waiting = (0..<10).map { "wait-\($0)" }
        for id in waiting { _ = try box.submit(["svc", "--input", #"{"sleep": "0.05"}"#, "--id", id]) }
        _ = try box.submit(["free", "--input", "{}", "--id", "free"])
        let all = ["slow", "free"] + waiting
        #expect(
            try eventually(timeout: 60) {
                let result = try box.run(["list", "--status", "completed", "--limit", "100", "--json"])
                return (try? result.json())?.arrayValue?.count == all.count
            },
            "not every saga completed"
        )
        let marks = Self.marks(box)
        let slow = try #require(marks["slow"])
        let free = try #require(marks["free"])
        // With a worker slot held by each waiting saga, `free` would only start after `slow`'s call ended.
        #expect(free.end < slow.end, "the unlimited saga waited for the limited one's slot")
        // The waiting sagas ran one at a time after `slow`, in the order they asked (their submission order).
        let calls = try waiting.map { try #require(marks[$0], "\($0) never ran") }
        #expect(calls.allSatisfy { $0.start >= slow.end }, "a saga ran while the only slot was held")
        let order = waiting.indices.sorted { calls[$0].start < calls[$1].start }
        #expect(order == Array(waiting.indices), "waiters were not served in order: \(order.map { waiting[$0] })")
        for (a, b) in zip(calls, calls.dropFirst()) { #expect(b.start >= a.end, "two calls overlapped") }
    }
}
