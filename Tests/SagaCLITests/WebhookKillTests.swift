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

/// kill -9 of the delivering worker while hundreds of sagas run (issue 19): every committed lifecycle event
/// arrives at least once, with one webhook-id per event across redeliveries, and none arrives that was not
/// committed. `SAGA_SOAK=1` runs thousands of sagas.
@Suite(.serialized, .timeLimit(.minutes(15)))
struct WebhookKillTests {
    @Test func killedWorkersLoseNoEventAndInventNone() async throws {
        let soak = ProcessInfo.processInfo.environment["SAGA_SOAK"] == "1"
        let box = try CLISandbox()
        try await Self.killAndCheck(box, store: try SQLiteSagaStore(path: box.database), count: soak ? 3000 : 300, kills: soak ? 30 : 5)
    }

    /// The body of the kill test on any database `box` names; `store` is that database, in-process (the sagas are
    /// journaled through it, and the committed journal read from it).
    static func killAndCheck(_ box: CLISandbox, store: any SagaStore, count: Int, kills: Int) async throws {
        let seed = SplitMix64.seedFromEnvironment()
        var rng = SplitMix64(seed: seed)
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        // A receiver that takes its time now and then, so that kills land mid-request too.
        receiver.setScript { _, _ in
            .init(status: 200, delay: Int.random(in: 0..<10) == 0 ? .milliseconds(200) : .zero)
        }
        let secret = WebhookReceiver.makeSecret()
        receiver.expect(secrets: [secret], for: "/k")
        _ = try WebhookCLITests.add(box, ["http://127.0.0.1:\(port)/k", "--secret", secret])

        let definition = try CrashSuite.writeWorkflow(box, maxAttempts: 10)
        let plans = (0..<count).map { CrashSuite.plan($0, maxDelayMs: 5, using: &rng) }
        try await CrashSuite.submit(plans, definition: definition, box: box, into: store)

        let arguments = ["worker", "--concurrency", "32", "--lease", "2s", "--webhook-timeout", "1s", "--log-level", "error"]
        var worker = try CrashSuite.start(box, arguments)
        for _ in 0..<kills {
            usleep(UInt32(Double.random(in: 0.3...1.5, using: &rng) * 1_000_000))
            worker.signal(SIGKILL)
            _ = worker.wait(timeout: 10)
            worker = try CrashSuite.start(box, arguments)
        }
        worker.signal(SIGKILL)
        _ = worker.wait(timeout: 10)
        try box.workUntilIdle(["--lease", "2s", "--log-level", "error"], timeout: 600)

        // What the journal committed.
        var committed: Set<String> = []
        for plan in plans {
            for event in try await store.events(sagaID: plan.id) {
                for type in WebhookCLITests.published(event.type.rawValue) { committed.insert("\(plan.id) \(event.seq) \(type)") }
            }
        }
        let received = receiver.received
        #expect(received.allSatisfy { $0.validFor == [secret] }, "a request without a valid signature")
        let arrived = Set(received.compactMap { r in r.sagaID.map { "\($0) \(r.seq ?? -1) \(r.type ?? "?")" } })
        #expect(committed.subtracting(arrived).isEmpty, "lost: \(committed.subtracting(arrived).sorted().prefix(5))")
        #expect(arrived.subtracting(committed).isEmpty, "not committed: \(arrived.subtracting(committed).sorted().prefix(5))")
        // One webhook-id per event: every receipt of an event carries the same id, and ids name one event each.
        var idByEvent: [String: Set<String>] = [:]
        var eventByID: [String: Set<String>] = [:]
        for r in received {
            let event = "\(r.sagaID ?? "") \(r.seq ?? -1) \(r.type ?? "")"
            idByEvent[event, default: []].insert(r.id)
            eventByID[r.id, default: []].insert(event)
        }
        #expect(idByEvent.values.allSatisfy { $0.count == 1 })
        #expect(eventByID.values.allSatisfy { $0.count == 1 })
        // In order per saga: the first receipt of each event follows the journal's order.
        var firstSeqs: [String: [Int]] = [:]
        var seen: Set<String> = []
        for r in received where seen.insert(r.id).inserted {
            firstSeqs[r.sagaID ?? "", default: []].append(r.seq ?? -1)
        }
        #expect(firstSeqs.values.allSatisfy { $0 == $0.sorted() })
        let duplicates = received.count - seen.count
        print("webhook kills (seed \(seed)): \(count) sagas, \(kills) kills, \(committed.count) events, "
            + "\(received.count) requests, \(duplicates) redeliveries")
    }
}

/// Two workers on one database (issue 19): in the normal case each event is delivered once per subscription, and
/// the delivery lag (journal time to receipt) is measured.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct WebhookTwoWorkerTests {
    @Test func twoWorkersDeliverEachEventOnce() async throws {
        let box = try CLISandbox()
        try await Self.deliverOnce(box, store: try SQLiteSagaStore(path: box.database), count: 200)
    }

    /// The body of the two-worker test on any database `box` names; `store` is that database, in-process.
    static func deliverOnce(_ box: CLISandbox, store: any SagaStore, count: Int) async throws {
        var rng = SplitMix64(seed: SplitMix64.seedFromEnvironment())
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let secret = WebhookReceiver.makeSecret()
        receiver.expect(secrets: [secret], for: "/two")
        _ = try WebhookCLITests.add(box, ["http://127.0.0.1:\(port)/two", "--secret", secret])
        let definition = try CrashSuite.writeWorkflow(box, maxAttempts: 10)
        let plans = (0..<count).map { CrashSuite.plan($0, maxDelayMs: 5, flaky: false, using: &rng) }

        let arguments = ["worker", "--concurrency", "16", "--lease", "5s", "--log-level", "error"]
        let workerCount = Int(ProcessInfo.processInfo.environment["SAGA_WEBHOOK_WORKERS"] ?? "") ?? 2
        let workers = try (0..<workerCount).map { _ in try CrashSuite.start(box, arguments) }
        defer { for w in workers where w.isRunning { w.signal(SIGKILL) } }
        try await CrashSuite.submit(plans, definition: definition, box: box, into: store)
        let finished = eventually(timeout: 300) {
            let received = receiver.received
            return received.filter { $0.type == "saga.completed" || $0.type == "saga.compensated" }.count >= count
        }
        #expect(finished, "\(receiver.received.count) requests")
        for w in workers { w.signal(SIGTERM) }
        for w in workers { #expect(w.wait(timeout: 30) == 0, "\(w.stderr)") }

        var committed = 0
        for plan in plans {
            committed += try await store.events(sagaID: plan.id).flatMap { WebhookCLITests.published($0.type.rawValue) }.count
        }
        let received = receiver.received
        #expect(received.allSatisfy { $0.validFor == [secret] })
        #expect(Set(received.map(\.id)).count == committed)
        #expect(received.count == committed, "\(received.count - committed) events delivered twice")
        // Delivery lag: from the journal event's time (`timestamp`) to the receipt.
        let lags = received.compactMap { r -> Double? in
            guard let text = r.json?["timestamp"]?.stringValue, let at = Self.parse(text) else { return nil }
            return r.at.timeIntervalSince(at) * 1000
        }.sorted()
        let p50 = lags[lags.count / 2]
        let p99 = lags[min(lags.count - 1, lags.count * 99 / 100)]
        for type in ["saga.started", "saga.completed", "saga.compensated"] {
            let some = received.filter { $0.type == type }.compactMap { r -> Double? in
                guard let text = r.json?["timestamp"]?.stringValue, let at = Self.parse(text) else { return nil }
                return r.at.timeIntervalSince(at) * 1000
            }.sorted()
            if !some.isEmpty { print("webhook lag of \(type): p50 \(Int(some[some.count / 2])) ms, max \(Int(some.last!)) ms") }
        }
        print("webhook lag over \(lags.count) deliveries by \(workerCount) workers: p50 \(Int(p50)) ms, p99 \(Int(p99)) ms, max \(Int(lags.last ?? 0)) ms")
    }

    static func parse(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}
