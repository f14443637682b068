import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named limits and exclusive keys (issue 21) on PostgreSQL, through THREE real `saga worker` processes on one
/// database (each its own node): the workflows and the checks of `NamedLimitTests` and `ExclusiveKeyTests`, each
/// on a fresh schema. Skipped without `SAGA_POSTGRES_URL`.
@Suite(
    .serialized,
    .enabled(
        if: PostgresCLITests.serverURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL limit tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresLimitTests {
    @Test func twoHundredSagasOverThreeNodesNeverHaveMoreThanTwoCallsInFlight() throws {
        let box = try PostgresCLITests.sandbox()
        try NamedLimitTests.writeWorkflow(box, limit: #"{"concurrency": 2}"#)
        let ids = try NamedLimitTests.submit(box, count: 200, sleep: "0.02")
        #expect(ids.count == 200)
        #expect(try NamedLimitTests.runWorkers(box, count: 3) { try NamedLimitTests.allCompleted(box, 200) })
        let calls = NamedLimitTests.calls(box)
        NamedLimitTests.expectEachCallJournaled(box, count: 200)
        let most = NamedLimitTests.mostInFlight(calls)
        #expect(most <= 2, "\(most) calls in flight at once across three nodes")
        #expect(most == 2, "the limit was never used in full")
    }

    @Test func aRateOfTwentyPerSecondIsNeverExceededAcrossThreeNodes() throws {
        let box = try PostgresCLITests.sandbox()
        try NamedLimitTests.writeWorkflow(box, limit: #"{"rate": "20/s"}"#)
        let ids = try NamedLimitTests.submit(box, count: 70, sleep: "0")
        #expect(ids.count == 70)
        #expect(try NamedLimitTests.runWorkers(box, count: 3) { try NamedLimitTests.allCompleted(box, 70) })
        let starts = NamedLimitTests.calls(box).map(\.start).sorted()
        #expect(starts.count == 70)
        // Any 21 consecutive starts span at least a second.
        var shortest = Int.max
        for i in 0..<max(0, starts.count - 20) { shortest = min(shortest, starts[i + 20] - starts[i]) }
        #expect(shortest >= 1_000_000_000, "21 calls started within \(Double(shortest) / 1e9)s")
        if let first = starts.first, let last = starts.last {
            let span = Double(last - first) / 1e9
            #expect(span < 8, "70 calls at 20/s took \(span)s")
        }
    }

    @Test func killedNodesLeakNoSlot() throws {
        let box = try PostgresCLITests.sandbox()
        try NamedLimitTests.writeWorkflow(box, limit: #"{"concurrency": 2}"#)
        let ids = try NamedLimitTests.submit(box, count: 30, sleep: "0.15")
        #expect(ids.count == 30)
        var workers = try (0..<3).map { _ in try box.start(["worker", "--concurrency", "8", "--lease", "2s"]) }
        defer {
            for w in workers { w.signal(SIGTERM) }
            for w in workers { _ = w.wait(timeout: 20) }
        }
        // Kill two of the nodes with SIGKILL while they hold slots, and start others in their place.
        for index in 0..<2 {
            usleep(800_000)
            workers[index].signal(SIGKILL)
            _ = workers[index].wait(timeout: 10)
            workers[index] = try box.start(["worker", "--concurrency", "8", "--lease", "2s"])
        }
        #expect(try eventually(timeout: 90) { try NamedLimitTests.allCompleted(box, 30) }, "the killed nodes' slots leaked")
        let most = NamedLimitTests.mostInFlight(NamedLimitTests.calls(box))
        #expect(most <= 2, "\(most) calls in flight at once")
    }

    @Test func fiftySagasOnOneKeyNeverOverlapAndRunInSubmissionOrderOnThreeNodes() throws {
        let box = try PostgresCLITests.sandbox()
        try ExclusiveKeyTests.writeWorkflow(box)
        // Every fifth saga fails at `b` and compensates `a`: its span ends with the compensation.
        let ids = try (0..<50).map { n in
            try box.submit(["acct", "--input", ExclusiveKeyTests.input(account: "1", fail: n % 5 == 0 ? "b" : "none")])
        }
        let waiting = try box.run(["show", ids[1]])
        #expect(waiting.stdout.contains("account:1"), "\(waiting)")
        #expect(try ExclusiveKeyTests.work(box, ids: ids, workers: 3))
        let statuses = try ExclusiveKeyTests.statuses(box, ids)
        #expect(
            statuses.enumerated().allSatisfy { $0.element == ($0.offset % 5 == 0 ? "compensated" : "completed") },
            "\(statuses)")
        let spans = ExclusiveKeyTests.spans(box)
        #expect(spans.count == 50)
        let ordered = ids.compactMap { id in spans[id].map { (id, $0) } }
        for (earlier, later) in zip(ordered, ordered.dropFirst()) {
            #expect(earlier.1.end <= later.1.start, "\(earlier.0) overlaps \(later.0), or ran after it")
        }
    }

    @Test func twoKeysInOppositeOrdersBothFinishOnThreeNodes() throws {
        let box = try PostgresCLITests.sandbox()
        try ExclusiveKeyTests.writeWorkflow(box, exclusive: #"["acct:${input.first}", "acct:${input.second}"]"#)
        var ids: [String] = []
        for n in 0..<10 {
            let (first, second) = n % 2 == 0 ? ("A", "B") : ("B", "A")
            ids.append(try box.submit([
                "acct", "--input",
                #"{"first": "\#(first)", "second": "\#(second)", "sleep": "0.01", "fail": "none", "failComp": "no"}"#,
            ]))
        }
        #expect(try ExclusiveKeyTests.work(box, ids: ids, workers: 3))
        #expect(try ExclusiveKeyTests.statuses(box, ids) == Array(repeating: "completed", count: 10))
        let spans = ExclusiveKeyTests.spans(box)
        let ordered = ids.compactMap { spans[$0] }
        #expect(ordered.count == 10)
        for (earlier, later) in zip(ordered, ordered.dropFirst()) { #expect(earlier.end <= later.start) }
    }

    @Test func aParkedSagaKeepsItsKeyAndTheCommandsSaySo() throws {
        let box = try PostgresCLITests.sandbox()
        try ExclusiveKeyTests.writeWorkflow(box)
        let parked = try box.submit(["acct", "--input", ExclusiveKeyTests.input(account: "7", fail: "b", failComp: "yes")])
        let next = try box.submit(["acct", "--input", ExclusiveKeyTests.input(account: "7")])
        let worker = try box.start(["worker", "--concurrency", "4"])
        defer {
            worker.signal(SIGTERM)
            _ = worker.wait(timeout: 20)
        }
        #expect(try eventually(timeout: 30) { try box.show(parked)["status"] == "needs_intervention" })
        usleep(1_500_000)
        let shown = try box.show(next)
        #expect(shown["status"] == "pending")
        #expect(shown["waitsFor"]?["keys"]?.arrayValue?.first?["holder"]?.stringValue == parked, "\(shown)")
        let text = try box.run(["show", next])
        #expect(text.stdout.contains("waits for key account:7, held by saga \(parked)"), "\(text)")
        let stuck = try box.run(["list", "--stuck"])
        #expect(stuck.status == 0, "\(stuck)")
        let stats = try box.run(["stats", "--json"]).json()
        let held = stats["exclusiveKeys"]?["heldKeys"]?.arrayValue?.first
        #expect(held?["key"] == "account:7" && held?["holder"]?.stringValue == parked && held?["waiting"] == 1, "\(stats)")
        let plan = try box.run(["plan", next, "--json"]).json()
        #expect(plan["needs"]?["exclusiveKeys"] == ["account:7"], "\(plan)")
        let unknown = try box.run(["plan", "s-nosuch"])
        #expect(unknown.status != 0 && !unknown.stderr.contains(":sagas@"), "the password is printed: \(unknown)")
        let terminated = try box.run(["terminate", parked, "--reason", "settled by hand", "--by", "test"])
        #expect(terminated.status == 0, "\(terminated)")
        #expect(try eventually(timeout: 30) { try box.show(next)["status"] == "completed" })
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "needs /usr/bin/curl"))
    func theLimitGaugesCountEveryNode() throws {
        let box = try PostgresCLITests.sandbox()
        try NamedLimitTests.writeWorkflow(box, limit: #"{"concurrency": 1}"#)
        let ids = try NamedLimitTests.submit(box, count: 4, sleep: "3")
        #expect(ids.count == 4)
        // Two nodes share the limit; the gauges of one of them count the other's slot and waiters too.
        let other = try box.start(["worker", "--concurrency", "4", "--lease", "5s"])
        let worker = try box.start(["worker", "--concurrency", "4", "--lease", "5s", "--metrics", "127.0.0.1:0"])
        defer {
            for w in [other, worker] { w.signal(SIGKILL) }
            for w in [other, worker] { _ = w.wait(timeout: 10) }
        }
        var url: String?
        #expect(eventually(timeout: 30) {
            guard let line = worker.stderr.split(separator: "\n").first(where: { $0.hasPrefix("metrics on ") }) else { return false }
            url = String(line.dropFirst("metrics on ".count))
            return true
        }, "\(worker.stderr)")
        let endpoint = try #require(url)
        var text = ""
        #expect(eventually(timeout: 30) {
            text = MetricsCLITests.fetch(endpoint) ?? ""
            return MetricsCLITests.value(text, #"saga_limit_in_flight{limit="svc"}"#) == 1
                && (MetricsCLITests.value(text, #"saga_limit_waiting{limit="svc"}"#) ?? 0) >= 1
        }, "\(text)")
    }

    @Test func benchABRunsOnPostgres() throws {
        let box = try PostgresCLITests.sandbox()
        let url = try #require(box.databaseURL)
        let result = try box.run(["bench", "--store", "postgres", "--db", url, "--sagas", "20", "--concurrency", "8",
                                  "--exclusive", "--limit", "4", "--ab", "1", "--json"])
        #expect(result.status == 0, "\(result)")
        let report = try result.json()
        #expect((report["medianA"]?.doubleValue ?? 0) > 0 && (report["medianB"]?.doubleValue ?? 0) > 0, "\(report)")
        #expect(report["store"] == "postgres", "\(report)")
        // Each run's schema is dropped after it: the sandbox's own schema holds no sagas.
        let list = try box.run(["list", "--json"])
        #expect(list.status != 0 || (try? list.json().arrayValue?.count) == 0, "\(list)")
    }

    @Test func killedNodesLeakNoKeyAndNothingOverlaps() throws {
        let box = try PostgresCLITests.sandbox()
        try ExclusiveKeyTests.writeWorkflow(box)
        let ids = try (0..<16).map { n in
            try box.submit([
                "acct", "--input",
                ExclusiveKeyTests.input(account: "\(n % 2)", sleep: "0.1", fail: n % 4 == 0 ? "b" : "none"),
            ])
        }
        let finished = try ExclusiveKeyTests.work(box, ids: ids, workers: 3, timeout: 90) { workers in
            usleep(700_000)
            workers[0].signal(SIGKILL)
            _ = workers[0].wait(timeout: 10)
            usleep(700_000)
            workers[1].signal(SIGKILL)
            _ = workers[1].wait(timeout: 10)
        }
        #expect(finished)
        let statuses = try ExclusiveKeyTests.statuses(box, ids)
        #expect(statuses.allSatisfy { $0 == "completed" || $0 == "compensated" }, "\(statuses)")
        let spans = ExclusiveKeyTests.spans(box)
        for account in 0..<2 {
            let ordered = ids.enumerated().filter { $0.offset % 2 == account }.compactMap { spans[$0.element] }
            #expect(ordered.count == 8)
            for (earlier, later) in zip(ordered, ordered.dropFirst()) {
                #expect(earlier.end <= later.start, "account \(account): two sagas overlapped")
            }
        }
    }
}
