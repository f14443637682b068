import Foundation
import Sagas
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// LISTEN/NOTIFY on PostgreSQL (issue 16): a saga submitted by another process starts well before the worker's
/// next poll; with `--postgres-poll-only` it waits for the poll. Timings are loose: the poll interval is 30 s, the
/// woken saga has 10 s to finish, the poll-only one must not have started after 4 s.
@Suite(
    .serialized,
    .enabled(
        if: PostgresCLITests.serverURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL wake-up tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresWakeupTests {
    /// Starts an idle worker polling every 30 s and waits until it has made its first look for work.
    static func idleWorker(_ box: CLISandbox, _ extra: [String] = []) throws -> SagaProcess {
        _ = try box.run(["migrate"])
        let worker = try box.start(["worker", "--poll-interval", "30s"] + extra)
        #expect(eventually(timeout: 30) {
            let listed = (try? box.run(["workers", "--json"]).json().arrayValue) ?? []
            return listed.contains { $0["pid"] == .integer(Int(worker.pid)) }
        }, "the worker did not start")
        usleep(1_000_000)
        return worker
    }

    @Test func aSubmittedSagaWakesAnIdleWorker() throws {
        let box = try PostgresCLITests.sandbox()
        let worker = try Self.idleWorker(box)
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        _ = try box.submit(["order", "--id", "wake-1", "--input", #"{"orderId": "o-1", "amount": 1}"#])
        let started = Date()
        #expect(eventually(timeout: 10) { (try? box.show("wake-1"))?["status"] == "completed" },
            "not completed within 10 s of its submission with a 30 s poll interval")
        print("woken saga completed \(Int(Date().timeIntervalSince(started) * 1000)) ms after its submission")
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.stderr)")
    }

    @Test func pollOnlyWaitsForThePoll() throws {
        let box = try PostgresCLITests.sandbox()
        let worker = try Self.idleWorker(box, ["--postgres-poll-only"])
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        _ = try box.submit(["order", "--id", "poll-1", "--input", #"{"orderId": "o-1", "amount": 1}"#])
        usleep(4_000_000)
        #expect(try box.show("poll-1")["status"] == "pending", "a poll-only worker took the saga before its poll")
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.stderr)")
    }
}
