import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named limits (issue 21) through real `saga worker` processes on one SQLite database: each attempt of the limited
/// step appends its own start and end times to `marks.log`, from which concurrency and rate are checked.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct NamedLimitTests {
    static func writeWorkflow(_ box: CLISandbox, limit: String) throws {
        try box.writeScript("mark.sh", #"""
            log="$SAGA_SCRATCH/marks.log"
            echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE start $(date +%s%N)" >> "$log"
            sleep "$1"
            echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE end $(date +%s%N)" >> "$log"
            echo '{}'
            """#)
        try box.writeWorkflow("svc", """
            {"name": "svc", "version": 1, "limits": {"svc": \(limit)},
             "defaults": {"retry": {"maxAttempts": 2, "initialInterval": "10ms", "maxInterval": "20ms"}, "timeout": "2s"},
             "steps": [
               {"name": "prepare", "kind": "readonly", "action": {"command": {"argv": ["./scripts/mark.sh", "0"]}}},
               {"name": "call", "kind": "readonly", "limit": "svc",
                "action": {"command": {"argv": ["./scripts/mark.sh", "${input.sleep}"]}}}
             ]}
            """)
    }

    /// Start and end times (nanoseconds) of every attempt of `call`.
    static func calls(_ box: CLISandbox) -> [(start: Int, end: Int)] {
        var starts: [String: Int] = [:]
        var result: [(start: Int, end: Int)] = []
        for line in (box.readScratch("marks.log") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 5, parts[1] == "call", let t = Int(parts[4]) else { continue }
            if parts[3] == "start" {
                starts[String(parts[0])] = t
            } else if let start = starts.removeValue(forKey: String(parts[0])) {
                result.append((start, t))
            }
        }
        return result
    }

    /// Every saga's `call` ran, and a saga whose `call` ran more than once journaled as many attempts: steps run at
    /// least once, and a second run (after a lease that lapsed under load, say) is a journaled retry, never a call
    /// the journal does not know of.
    static func expectEachCallJournaled(_ box: CLISandbox, count: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        var bySaga: [String: Int] = [:]
        for line in (box.readScratch("marks.log") ?? "").split(separator: "\n") {
            let parts = line.split(separator: " ")
            guard parts.count == 5, parts[1] == "call", parts[3] == "start" else { continue }
            bySaga[String(parts[0]), default: 0] += 1
        }
        #expect(bySaga.count == count, "sagas whose call ran", sourceLocation: sourceLocation)
        for (id, runs) in bySaga where runs > 1 {
            let shown = try? box.run(["show", id, "--json"]).json()
            let attempts = shown?["steps"]?.arrayValue?.first { $0["name"] == "call" }?["attempts"]?.intValue ?? 0
            #expect(attempts >= runs, "saga \(id): call ran \(runs) times, journaled \(attempts)", sourceLocation: sourceLocation)
        }
    }

    static func submit(_ box: CLISandbox, count: Int, sleep: String) throws -> [String] {
        let ids = LockedIDs()
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            for n in stride(from: lane, to: count, by: 4) {
                // Four submitters share one SQLite file: one that finds it locked for longer than the busy timeout
                // tries again (submitting an id twice is the same saga).
                for _ in 0..<3 {
                    if let id = try? box.submit(["svc", "--input", #"{"sleep": "\#(sleep)"}"#, "--id", "lim-\(n)"]) {
                        ids.append(id)
                        break
                    }
                }
            }
        }
        return ids.all
    }

    static func runWorkers(_ box: CLISandbox, count: Int, until done: () throws -> Bool) throws -> Bool {
        let workers = try (0..<count).map { _ in try box.start(["worker", "--concurrency", "8", "--lease", "2s"]) }
        defer {
            for w in workers { w.signal(SIGTERM) }
            for w in workers { _ = w.wait(timeout: 20) }
        }
        return try eventually(timeout: 100, done)
    }

    static func allCompleted(_ box: CLISandbox, _ count: Int) throws -> Bool {
        let result = try box.run(["list", "--status", "completed", "--limit", "1000", "--json"])
        return (try? result.json())?.arrayValue?.count == count
    }

    @Test func twoHundredSagasNeverHaveMoreThanTwoCallsInFlight() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box, limit: #"{"concurrency": 2}"#)
        let ids = try Self.submit(box, count: 200, sleep: "0.02")
        #expect(ids.count == 200)
        #expect(try Self.runWorkers(box, count: 2) { try Self.allCompleted(box, 200) })
        let calls = Self.calls(box)
        Self.expectEachCallJournaled(box, count: 200)
        // The most calls in flight at once, from the targets' own times.
        var edges = calls.flatMap { [($0.start, 1), ($0.end, -1)] }
        edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var inFlight = 0
        var most = 0
        for edge in edges {
            inFlight += edge.1
            most = max(most, inFlight)
        }
        #expect(most <= 2, "\(most) calls in flight at once")
        #expect(most == 2, "the limit was never used in full")
    }

    /// The most calls in flight at once, from the targets' own times.
    static func mostInFlight(_ calls: [(start: Int, end: Int)]) -> Int {
        var edges = calls.flatMap { [($0.start, 1), ($0.end, -1)] }
        edges.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        var inFlight = 0
        var most = 0
        for edge in edges {
            inFlight += edge.1
            most = max(most, inFlight)
        }
        return most
    }

    @Test func killedWorkersLeakNoSlot() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box, limit: #"{"concurrency": 2}"#)
        let ids = try Self.submit(box, count: 30, sleep: "0.15")
        #expect(ids.count == 30)
        var workers = try (0..<2).map { _ in try box.start(["worker", "--concurrency", "8", "--lease", "2s"]) }
        defer {
            for w in workers { w.signal(SIGTERM) }
            for w in workers { _ = w.wait(timeout: 20) }
        }
        // Kill each worker with SIGKILL while it holds slots, and start another in its place.
        for index in 0..<2 {
            usleep(800_000)
            workers[index].signal(SIGKILL)
            _ = workers[index].wait(timeout: 10)
            workers[index] = try box.start(["worker", "--concurrency", "8", "--lease", "2s"])
        }
        #expect(try eventually(timeout: 90) { try Self.allCompleted(box, 30) }, "the killed workers' slots leaked")
        let most = Self.mostInFlight(Self.calls(box))
        #expect(most <= 2, "\(most) calls in flight at once")
    }

    @Test func aRateOfTwentyPerSecondIsNeverExceeded() throws {
        let box = try CLISandbox()
        try Self.writeWorkflow(box, limit: #"{"rate": "20/s"}"#)
        let ids = try Self.submit(box, count: 70, sleep: "0")
        #expect(ids.count == 70)
        #expect(try Self.runWorkers(box, count: 2) { try Self.allCompleted(box, 70) })
        let starts = Self.calls(box).map(\.start).sorted()
        #expect(starts.count == 70)
        // Any 21 consecutive starts span at least a second.
        var shortest = Int.max
        for i in 0..<(starts.count - 20) { shortest = min(shortest, starts[i + 20] - starts[i]) }
        #expect(shortest >= 1_000_000_000, "21 calls started within \(Double(shortest) / 1e9)s")
        let span = Double(starts.last! - starts.first!) / 1e9
        #expect(span < 6, "70 calls at 20/s took \(span)s")
    }
}

/// Ids collected from several threads.
final class LockedIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [String] = []
    func append(_ id: String) {
        lock.lock()
        ids.append(id)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return ids
    }
}
