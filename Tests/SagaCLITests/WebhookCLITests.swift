import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Webhooks through the real binary (issue 19): `saga webhooks …` and `saga worker` delivering to a loopback
/// receiver that checks every signature itself.
@Suite(.serialized, .timeLimit(.minutes(10)))
struct WebhookCLITests {
    /// The lifecycle events a journal event publishes (written out here, independently of the code under test).
    static func published(_ journalType: String) -> [String] {
        switch journalType {
        case "saga.started", "saga.completed", "saga.compensating", "saga.compensated", "saga.failed",
            "saga.terminated", "intervention.resolved":
            [journalType]
        case "saga.needs_intervention": ["saga.needs_intervention", "intervention.opened"]
        default: []
        }
    }

    /// (seq, type) of every lifecycle event a saga's journal publishes, in order.
    static func expected(_ box: CLISandbox, saga id: String) throws -> [(seq: Int, type: String)] {
        try box.show(id).events.flatMap { event -> [(seq: Int, type: String)] in
            guard let type = event["type"]?.stringValue, let seq = event["seq"]?.intValue else { return [] }
            return published(type).map { (seq, $0) }
        }
    }

    static func add(_ box: CLISandbox, _ arguments: [String]) throws -> String {
        let result = try box.run(["webhooks", "add"] + arguments + ["--json"])
        guard result.status == 0, let id = try result.json()["id"]?.stringValue else {
            throw CLITestError("webhooks add failed: \(result)")
        }
        return id
    }

    @Test func eachSubscriptionGetsExactlyItsEventsInOrderPerSaga() async throws {
        let box = try CLISandbox()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let base = "http://127.0.0.1:\(port)"
        let all = WebhookReceiver.makeSecret()
        let completedOnly = WebhookReceiver.makeSecret()
        let (old, new) = (WebhookReceiver.makeSecret(), WebhookReceiver.makeSecret())
        receiver.expect(secrets: [all], for: "/all")
        receiver.expect(secrets: [completedOnly], for: "/completed")
        receiver.expect(secrets: [old, new], for: "/rotating")
        try Data(completedOnly.utf8).write(to: URL(fileURLWithPath: box.scratchFile("secret.txt")))

        let allID = try Self.add(box, ["\(base)/all", "--secret", all])
        let completedID = try Self.add(
            box, ["\(base)/completed", "--secret", "@\(box.scratchFile("secret.txt"))", "--events", "saga.completed", "--workflow", "order"]
        )
        let rotatingID = try Self.add(box, [
            "\(base)/rotating", "--secret", old, "--secret", new, "--events",
            "saga.compensated,intervention.opened,intervention.resolved,saga.needs_intervention",
        ])

        // Secrets are shown masked only.
        let listed = try box.run(["webhooks", "list"])
        #expect(listed.status == 0, "\(listed)")
        for secret in [all, completedOnly, old, new] {
            #expect(!listed.stdout.contains(secret))
            #expect(listed.stdout.contains("whsec_…" + secret.suffix(4)))
        }

        var ids: [String] = []
        for n in 1...3 { ids.append(try box.submit(["order", "--input", #"{"orderId": "ok-\#(n)"}"#])) }
        for n in 1...2 {
            ids.append(try box.submit(["order", "--input", #"{"orderId": "undo-\#(n)", "failAt": "charge-payment"}"#]))
        }
        let stuck = try box.submit([
            "order", "--input", #"{"orderId": "stuck-1", "failAt": "charge-payment", "failUndo": "reserve-stock"}"#,
        ])
        ids.append(stuck)
        let first = try box.workUntilIdle(["--lease", "2s"])
        #expect(try box.show(stuck)["status"] == "needs_intervention")
        let resolved = try box.run(["resolve", stuck, "--skip", "--note", "undone by hand"])
        #expect(resolved.status == 0, "\(resolved)")
        let second = try box.workUntilIdle(["--lease", "2s"])

        // --until-idle waited for the deliveries: everything is here now.
        let received = receiver.received
        #expect(received.allSatisfy { $0.status == 200 })
        #expect(received.allSatisfy { !$0.validFor.isEmpty }, "a request without a valid signature")
        #expect(receiver.received(path: "/rotating").allSatisfy { $0.validFor.count == 2 }, "one signature per secret")
        #expect(received.allSatisfy { abs(Double($0.timestamp) - $0.at.timeIntervalSince1970) < 60 })
        // No duplicates in the normal case, and ids differ across subscriptions.
        #expect(Set(received.map(\.id)).count == received.count)

        let filters: [(path: String, wants: (String) -> Bool)] = [
            ("/all", { _ in true }),
            ("/completed", { $0 == "saga.completed" }),
            ("/rotating", { ["saga.compensated", "intervention.opened", "intervention.resolved", "saga.needs_intervention"].contains($0) }),
        ]
        for id in ids {
            let journal = try Self.expected(box, saga: id)
            for (path, wants) in filters {
                let want = journal.filter { wants($0.type) }
                let got = receiver.received(path: path).filter { $0.sagaID == id }
                #expect(got.map(\.type) == want.map(\.type), "\(path) for \(id)")
                #expect(got.map(\.seq) == want.map(\.seq), "\(path) for \(id)")
            }
        }
        // Bodies carry the saga's identity, its step and reason where there is one, and its link.
        let opened = try #require(receiver.received(path: "/rotating").first { $0.type == "intervention.opened" }?.json)
        #expect(opened["data"]?["sagaId"] == .string(stuck))
        #expect(opened["data"]?["workflow"] == "order")
        #expect(opened["data"]?["version"] == 1)
        #expect(opened["data"]?["businessKey"] == "stuck-1")
        #expect(opened["data"]?["status"] == "needs_intervention")
        #expect(opened["data"]?["step"] == "reserve-stock")
        #expect(opened["data"]?["reason"]?.stringValue?.isEmpty == false)
        #expect(opened["data"]?["link"] == .string("/v1/sagas/\(stuck)"))
        let resolution = try #require(receiver.received(path: "/rotating").first { $0.type == "intervention.resolved" }?.json)
        #expect(resolution["data"]?["action"] == "skip")
        #expect(resolution["data"]?["note"] == "undone by hand")

        // Deliveries are recorded; secrets are in no log, no journal and no listing.
        let deliveries = try box.run(["webhooks", "deliveries", "--json", "--limit", "1000"])
        #expect(try deliveries.json().arrayValue?.count == received.count)
        #expect(try deliveries.json().arrayValue?.allSatisfy { $0["state"] == "delivered" } == true)
        let listedJSON = try box.run(["webhooks", "list", "--json"]).stdout
        let shown = try ids.map { try box.run(["show", $0, "--json"]).stdout }.joined()
        for secret in [all, completedOnly, old, new] {
            for text in [first.stderr, first.stdout, second.stderr, second.stdout, deliveries.stdout, listedJSON, shown] {
                #expect(!text.contains(secret))
                #expect(!text.contains(String(secret.dropFirst(6))))
            }
        }
        for id in [allID, completedID, rotatingID] { #expect(listedJSON.contains(id)) }
    }

    @Test func failuresAreRetriedThrottledDisabledAndReplayable() async throws {
        let box = try CLISandbox()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let up = Atomic<Bool>(false)
        receiver.setScript { path, previous in
            switch path {
            case "/flaky": previous < 2 ? .init(status: 500) : .init(status: 200)
            case "/slow": previous == 0 ? .init(status: 200, delay: .seconds(4)) : .init(status: 200)
            case "/throttle": previous == 0 ? .init(status: 429, headers: [("Retry-After", "3")]) : .init(status: 200)
            case "/gone": .init(status: 410)
            case "/down": up.load(ordering: .relaxed) ? .init(status: 200) : .init(status: 503)
            default: .init(status: 404)
            }
        }
        let secret = WebhookReceiver.makeSecret()
        var subscriptions: [String: String] = [:]
        for path in ["/flaky", "/slow", "/throttle", "/gone", "/down"] {
            receiver.expect(secrets: [secret], for: path)
            subscriptions[path] = try Self.add(box, ["http://127.0.0.1:\(port)\(path)", "--secret", secret])
        }
        let saga = try box.submit(["order", "--input", #"{"orderId": "r-1"}"#])
        let worker = try box.start([
            "worker", "--lease", "2s", "--webhook-timeout", "1s", "--webhook-retries", "1s,1s", "--log-level", "info",
        ])
        defer { if worker.isRunning { worker.signal(SIGKILL) } }

        func ids(_ path: String) -> [String] {
            var seen: [String] = []
            for r in receiver.received(path: path) where !seen.contains(r.id) { seen.append(r.id) }
            return seen
        }
        func attempts(_ path: String, _ id: String) -> [WebhookReceiver.Received] {
            receiver.received(path: path).filter { $0.id == id }
        }
        let settled = eventually(timeout: 60) {
            let flaky = ids("/flaky").count == 2 && ids("/flaky").allSatisfy { attempts("/flaky", $0).map(\.status) == [500, 500, 200] }
            let slow = ids("/slow").count == 2 && ids("/slow").allSatisfy { attempts("/slow", $0).count >= 2 }
            let throttle = ids("/throttle").count == 2 && ids("/throttle").allSatisfy { attempts("/throttle", $0).count == 2 }
            let down = ids("/down").count == 2 && ids("/down").allSatisfy { attempts("/down", $0).count == 3 }
            return flaky && slow && throttle && down
        }
        #expect(settled, "received: \(receiver.received.map { "\($0.path) \($0.id) \($0.status)" })")
        #expect(try box.show(saga)["status"] == "completed")

        // 500: retried on the schedule (1 s, ±20%), with the same webhook-id and body, until a 2xx.
        for id in ids("/flaky") {
            let tries = attempts("/flaky", id)
            #expect(Set(tries.map(\.body)).count == 1)
            #expect(tries[1].at.timeIntervalSince(tries[0].at) >= 0.7)
        }
        // A timeout (the receiver answered after 4 s, the worker waits 1 s) is retried.
        for id in ids("/slow") { #expect(attempts("/slow", id).last?.status == 200) }
        // 429 with Retry-After: 3 waits 3 s, not the schedule's 1 s.
        for id in ids("/throttle") {
            let tries = attempts("/throttle", id)
            #expect(tries[1].at.timeIntervalSince(tries[0].at) >= 2.8, "\(tries.map(\.at))")
        }
        // 410: one attempt, the subscription is disabled, and the saga's later events are not sent to it.
        #expect(receiver.received(path: "/gone").count == 1)
        #expect(receiver.received(path: "/gone").first?.type == "saga.started")
        let list = try box.run(["webhooks", "list", "--json"]).json()
        let gone = try #require(list.arrayValue?.first { $0["id"] == .string(subscriptions["/gone"]!) })
        #expect(gone["state"] == "disabled")
        #expect(gone["stateReason"] == "410 Gone")
        let stats = try box.run(["stats"])
        #expect(stats.stdout.contains("1 disabled") && stats.stdout.contains("410 Gone"), "\(stats)")
        #expect(try box.run(["stats", "--json"]).json()["webhooks"]?["disabled"] == 1)
        // Exhausted: 3 attempts (the schedule's 2 delays + 1), then failed, listed, and replayable.
        let failed = try box.run(["webhooks", "deliveries", "--failed", "--json"]).json().arrayValue ?? []
        let downFailed = failed.filter { $0["subscription"] == .string(subscriptions["/down"]!) }
        #expect(downFailed.count == 2)
        #expect(downFailed.allSatisfy { $0["attempts"] == 3 && $0["lastStatus"] == 503 })
        let goneFailed = failed.filter { $0["subscription"] == .string(subscriptions["/gone"]!) }
        #expect(goneFailed.count == 1 && goneFailed.first?["lastStatus"] == 410)

        up.store(true, ordering: .relaxed)
        let replayID = try #require(downFailed.first?["id"]?.stringValue)
        let replay = try box.run(["webhooks", "replay", replayID])
        #expect(replay.status == 0, "\(replay)")
        #expect(eventually(timeout: 20) { attempts("/down", replayID).last?.status == 200 })
        #expect(attempts("/down", replayID).count == 4)
        let unknown = try box.run(["webhooks", "replay", "msg_nope"])
        #expect(unknown.status == 3, "\(unknown)")
        let since = try box.run(["webhooks", "replay", "--since", "1h"])
        #expect(since.status == 0 && since.stdout.contains("replaying"), "\(since)")

        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.stderr)")
        #expect(!worker.stderr.contains(secret) && !worker.stderr.contains(String(secret.dropFirst(6))))
    }

    @Test func aSubscriptionFailingTooLongIsPausedAndShownInStats() async throws {
        let box = try CLISandbox()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        receiver.setScript { _, _ in .init(status: 503) }
        let secret = WebhookReceiver.makeSecret()
        let id = try Self.add(box, ["http://127.0.0.1:\(port)/down", "--secret", secret])
        _ = try box.submit(["order", "--input", #"{"orderId": "d-1"}"#])
        let worker = try box.start([
            "worker", "--lease", "2s", "--webhook-retries", "1s,1s,1s,1s,1s,1s", "--webhook-pause-after", "2s",
        ])
        defer { if worker.isRunning { worker.signal(SIGKILL) } }
        let paused = eventually(timeout: 30) {
            (try? box.run(["webhooks", "list", "--json"]).json().arrayValue?.first?["state"]) == "paused"
        }
        #expect(paused)
        let attemptsWhenPaused = receiver.received.count
        let list = try box.run(["webhooks", "list", "--json"]).json().arrayValue?.first
        #expect(list?["stateReason"]?.stringValue?.hasPrefix("failing since") == true, "\(String(describing: list))")
        let stats = try box.run(["stats"])
        #expect(stats.stdout.contains("1 paused") && stats.stdout.contains("\(id) paused: failing since"), "\(stats)")
        // Paused: nothing more is sent.
        usleep(2_500_000)
        #expect(receiver.received.count == attemptsWhenPaused)
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.stderr)")
    }

    @Test func untilIdleMakesTheCurrentAttemptAndDoesNotWaitForRetries() async throws {
        let box = try CLISandbox()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        receiver.setScript { _, _ in .init(status: 500) }
        let secret = WebhookReceiver.makeSecret()
        _ = try Self.add(box, ["http://127.0.0.1:\(port)/fail", "--secret", secret])
        _ = try box.submit(["order", "--input", #"{"orderId": "i-1"}"#])
        let began = Date()
        try box.workUntilIdle(["--lease", "2s"], timeout: 60)
        #expect(Date().timeIntervalSince(began) < 20)
        // The first event had its attempt (500, retry in 5 s); the second waits behind it, not yet attempted.
        #expect(receiver.received.map(\.type) == ["saga.started"])
        let deliveries = try box.run(["webhooks", "deliveries", "--json"]).json().arrayValue ?? []
        #expect(deliveries.map { $0["type"] } == ["saga.completed", "saga.started"])
        #expect(deliveries.map { $0["attempts"] } == [0, 1])
        #expect(deliveries.allSatisfy { $0["state"] == "pending" })
    }

    @Test func refusedAddressesAndBadSecretsAreRejected() throws {
        let box = try CLISandbox()
        let secret = WebhookReceiver.makeSecret()
        let metadata = try box.run(["webhooks", "add", "http://169.254.169.254/latest", "--secret", secret])
        #expect(metadata.status == 2, "\(metadata)")
        #expect(metadata.stderr.contains("link-local or metadata"), "\(metadata)")
        let notAllowed = try box.run(["webhooks", "add", "http://127.0.0.1:9/x", "--secret", secret, "--allow-host", "hooks.example.com"])
        #expect(notAllowed.status == 2, "\(notAllowed)")
        let badSecret = try box.run(["webhooks", "add", "http://127.0.0.1:9/x", "--secret", "hunter2-not-a-secret"])
        #expect(badSecret.status == 2, "\(badSecret)")
        #expect(!badSecret.stderr.contains("hunter2"), "\(badSecret)")
        let badEvent = try box.run(["webhooks", "add", "http://127.0.0.1:9/x", "--secret", secret, "--events", "saga.done"])
        #expect(badEvent.status == 2 && badEvent.stderr.contains("saga.completed"), "\(badEvent)")
        let missing = try box.run(["webhooks", "pause", "wh_nope"])
        #expect(missing.status == 3, "\(missing)")
        let id = try Self.add(box, ["http://127.0.0.1:9/x", "--secret", secret])
        #expect(try box.run(["webhooks", "pause", id]).status == 0)
        #expect(try box.run(["webhooks", "list", "--json"]).json().arrayValue?.first?["state"] == "paused")
        #expect(try box.run(["webhooks", "resume", id]).status == 0)
        #expect(try box.run(["webhooks", "list", "--json"]).json().arrayValue?.first?["state"] == "active")
        let newer = WebhookReceiver.makeSecret()
        let rotated = try box.run(["webhooks", "secrets", id, "--secret", newer, "--secret", secret])
        #expect(rotated.status == 0 && !rotated.stdout.contains(newer), "\(rotated)")
        #expect(try box.run(["webhooks", "list", "--json"]).json().arrayValue?.first?["secrets"]
            == .array([.string("whsec_…" + newer.suffix(4)), .string("whsec_…" + secret.suffix(4))]))
        #expect(try box.run(["webhooks", "secrets", id, "--secret", "nope"]).status == 2)
        #expect(try box.run(["webhooks", "remove", id]).status == 0)
        #expect(try box.run(["webhooks", "list", "--json"]).json().arrayValue?.isEmpty == true)
    }

    @Test func purgeKeepsEventsNotYetDelivered() async throws {
        let box = try CLISandbox()
        let receiver = WebhookReceiver()
        let port = try await receiver.start()
        defer { Task { try? await receiver.stop() } }
        let secret = WebhookReceiver.makeSecret()
        receiver.expect(secrets: [secret], for: "/p")
        let id = try Self.add(box, ["http://127.0.0.1:\(port)/p", "--secret", secret])
        #expect(try box.run(["webhooks", "pause", id]).status == 0)
        let saga = try box.submit(["order", "--input", #"{"orderId": "p-1"}"#])
        try box.workUntilIdle(["--lease", "2s"])
        #expect(try box.show(saga)["status"] == "completed")
        #expect(receiver.received.isEmpty)

        // Paused: its events are queued but not delivered, so the saga's journal is kept.
        let kept = try box.run(["purge", "--finished-before", "0s", "--json"])
        #expect(try kept.json()["deleted"] == 0, "\(kept)")
        #expect(try box.run(["show", saga]).status == 0)

        #expect(try box.run(["webhooks", "resume", id]).status == 0)
        try box.workUntilIdle(["--lease", "2s"])
        #expect(receiver.received.map(\.type) == ["saga.started", "saga.completed"])
        let purged = try box.run(["purge", "--finished-before", "0s", "--json"])
        #expect(try purged.json()["deleted"] == 1, "\(purged)")
    }
}
