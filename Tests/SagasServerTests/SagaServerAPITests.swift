import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Testing

/// Every endpoint of the API over an in-memory engine: shapes, statuses, and that refused requests journal nothing.
@Suite(.timeLimit(.minutes(2)))
struct SagaServerAPITests {
    @Test func healthAndReadiness() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            let health = try await api.get("/healthz", token: nil)
            #expect(health.status == .ok)
            #expect(health.json?["status"] == "ok")
            let ready = try await api.get("/readyz", token: nil)
            #expect(ready.status == .ok)
            #expect(ready.json?["database"] == "ok")
            #expect(ready.json?["worker"] == "disabled")
        }
    }

    @Test func startSagaStatuses() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            let created = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-1"}, "id": "s-1"}"#)
            #expect(created.status == .created)
            #expect(created.json?["id"] == "s-1")
            #expect(created.json?["status"] == "pending")
            #expect(created.json?["key"] == "o-1")

            let again = try await api.post("/v1/sagas", #"{"workflow": "pay@1", "input": {"orderId": "o-1"}, "id": "s-1"}"#)
            #expect(again.status == .ok)

            let conflict = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-2"}, "id": "s-1"}"#)
            #expect(conflict.status == .conflict)
            #expect(conflict.errorCode == "saga_conflict")

            let invalid = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"order": 1}}"#)
            #expect(invalid.status == .badRequest)
            #expect(invalid.errorCode == "invalid_input")
            #expect(invalid.json?["error"]?["message"]?.stringValue?.contains("invalid") == true)

            let unknown = try await api.post("/v1/sagas", #"{"workflow": "nope", "input": {}}"#)
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "workflow_not_found")

            // Never a file path: the server must not load whatever file a client names.
            for reference in ["\(fixture.directory)/pay.json", "pay.json", "../x/pay"] {
                let path = try await api.post("/v1/sagas", #"{"workflow": "\#(reference)", "input": {"orderId": "o-1"}}"#)
                #expect(path.status == .notFound, "\(reference)")
                #expect(path.errorCode == "workflow_not_found")
            }

            let generated = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-9"}}"#)
            #expect(generated.status == .created)
            #expect(generated.json?["id"]?.stringValue?.hasPrefix("s-") == true)
        }
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).count == 2)
    }

    @Test(arguments: [
        (#"{"workflow": "pay", "input": {"orderId": "o-1"}, "priority": 1}"#, "unknown field 'priority'"),
        (#"{"workflow": "pay", "input": "#, "not valid JSON"),
        (#"[1, 2]"#, "must be a JSON object"),
        (#"{"input": {"orderId": "o-1"}}"#, "'workflow' is required"),
        (#"{"workflow": 7}"#, "'workflow' must be a string"),
    ])
    func badBodiesAreRefusedAndJournalNothing(body: String, message: String) async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            let response = try await api.post("/v1/sagas", body)
            #expect(response.status == .badRequest)
            #expect(response.errorCode == "invalid_request")
            #expect(response.json?["error"]?["message"]?.stringValue?.contains(message) == true, "\(response.text)")
        }
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).isEmpty)
    }

    @Test func bodiesOverTheLimitAreRefused() async throws {
        let fixture = try ServerFixture()
        let big = String(repeating: "x", count: (1 << 20) + 10)
        try await fixture.test { api in
            let response = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "\#(big)"}}"#)
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "body_too_large")
            let cancel = try await api.post("/v1/sagas/s-1/cancel", #"{"reason": "\#(big)"}"#)
            #expect(cancel.status == .contentTooLarge)
        }
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).isEmpty)
    }

    @Test func listFiltersAndPages() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1"], id: "s-a")
        try await fixture.runSaga(["orderId": "o-2", "failShip": true], id: "s-b")
        try await fixture.runSaga(["orderId": "o-3", "failShip": true, "failRefund": true], id: "s-c")
        try await fixture.test { api in
            let all = try await api.get("/v1/sagas")
            #expect(all.status == .ok)
            #expect(all.json?["sagas"]?.arrayValue?.count == 3)
            #expect(all.json?["next"] == .null)

            let completed = try await api.get("/v1/sagas?status=completed")
            #expect(completed.json?["sagas"]?.arrayValue?.map { $0["id"] } == ["s-a"])
            let two = try await api.get("/v1/sagas?status=completed,compensated")
            #expect(two.json?["sagas"]?.arrayValue?.count == 2)
            let waiting = try await api.get("/v1/sagas?hasIntervention=true")
            #expect(waiting.json?["sagas"]?.arrayValue?.map { $0["id"] } == ["s-c"])
            let byKey = try await api.get("/v1/sagas?key=o-2&workflow=pay@1")
            #expect(byKey.json?["sagas"]?.arrayValue?.map { $0["id"] } == ["s-b"])
            let since = try await api.get("/v1/sagas?since=1h&until=2099-01-01T00:00:00Z&stuck=false")
            #expect(since.json?["sagas"]?.arrayValue?.count == 3)

            // Rows have the shape of `saga list --json`.
            let row = try #require(completed.json?["sagas"]?.arrayValue?.first)
            let record = try #require(try await fixture.engine.store.saga(id: "s-a"))
            #expect(Set(row.objectValue?.keys ?? [:].keys) == Set(record.summaryJSON(now: Date()).objectValue?.keys ?? [:].keys))

            let page1 = try await api.get("/v1/sagas?limit=2")
            #expect(page1.json?["sagas"]?.arrayValue?.count == 2)
            let next = try #require(page1.json?["next"]?.stringValue)
            let page2 = try await api.get("/v1/sagas?limit=2&after=\(next)")
            #expect(page2.json?["sagas"]?.arrayValue?.count == 1)
            #expect(page2.json?["next"] == .null)

            for bad in ["status=bogus", "limit=0", "limit=x", "since=yesterday", "workflow=pay@x", "color=red", "stuck=maybe"] {
                let response = try await api.get("/v1/sagas?\(bad)")
                #expect(response.status == .badRequest, "\(bad)")
                #expect(response.errorCode == "invalid_request", "\(bad)")
            }
        }
    }

    @Test func showPlanAndNotFound() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1"], id: "s-a")
        try await fixture.test { api in
            let show = try await api.get("/v1/sagas/s-a")
            #expect(show.status == .ok)
            let snapshot = try await fixture.engine.snapshot(sagaID: "s-a")
            var expected = snapshot.json(now: Date()).objectValue ?? [:]
            var got = show.json?.objectValue ?? [:]
            // `stuck` depends on the clock; everything else is the `saga show --json` object.
            expected["stuck"] = nil
            got["stuck"] = nil
            #expect(JSONValue.object(got) == JSONValue.object(expected))

            let plan = try await api.get("/v1/sagas/s-a/plan")
            #expect(plan.status == .ok)
            #expect(plan.json == (try await fixture.engine.plan(sagaID: "s-a")).json)

            let missing = try await api.get("/v1/sagas/nope")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "saga_not_found")
            let missingPlan = try await api.get("/v1/sagas/nope/plan")
            #expect(missingPlan.status == .notFound)

            let route = try await api.get("/v1/nothing-here")
            #expect(route.status == .notFound)
            #expect(route.errorCode == "not_found")

            // A route that exists with other methods: 405 with Allow.
            let method = try await api.request(.delete, "/v1/sagas/s-a", token: ServerFixture.adminToken)
            #expect(method.status == .methodNotAllowed)
            #expect(method.errorCode == "method_not_allowed")
            #expect(method.headers[.allow] == "GET")
            let both = try await api.request(.put, "/v1/sagas", token: ServerFixture.adminToken)
            #expect(both.headers[.allow] == "GET, POST")
        }
    }

    @Test func cancelRecordsWhoAsked() async throws {
        let fixture = try ServerFixture()
        try await fixture.engine.start(workflow: "pay", in: fixture.server.catalog, input: ["orderId": "o-1"], id: "s-1")
        try await fixture.test { api in
            let response = try await api.post("/v1/sagas/s-1/cancel", #"{"reason": "customer withdrew"}"#)
            #expect(response.status == .ok)
            // Who asked is a field of its own, not words inside the reason.
            #expect(response.json?["cancelReason"] == "customer withdrew")
            #expect(response.json?["cancelBy"] == "otto")
            let unknownField = try await api.post("/v1/sagas/s-1/cancel", #"{"reason": "x", "force": true}"#)
            #expect(unknownField.status == .badRequest)
            let missing = try await api.post("/v1/sagas/nope/cancel", "{}")
            #expect(missing.status == .notFound)
        }
        let finished = try await fixture.engine.run(sagaID: "s-1")
        #expect(finished.status == .compensated)
        let events = try await fixture.engine.store.events(sagaID: "s-1")
        let request = try #require(events.first { $0.type == .cancelRequested })
        #expect(request.error == "customer withdrew")
        #expect(request.data?["by"] == "otto")
        try await fixture.test { api in
            let shown = try await api.request(.get, "/v1/sagas/s-1", token: ServerFixture.adminToken)
            #expect(shown.json?["cancelBy"] == "otto")
            let event = shown.json?["events"]?.arrayValue?.first { $0["type"] == "saga.cancel_requested" }
            #expect(event?["data"]?["by"] == "otto", "\(shown.json ?? .null)")
        }
        try await fixture.test { api in
            let again = try await api.post("/v1/sagas/s-1/cancel", "{}")
            #expect(again.status == .conflict)
            #expect(again.errorCode == "invalid_state")
        }
    }

    @Test func terminateJournalsTheTokenName() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1", "failShip": true, "failRefund": true], id: "s-1")
        try await fixture.test { api in
            let noReason = try await api.post("/v1/sagas/s-1/terminate", "{}", token: ServerFixture.adminToken)
            #expect(noReason.status == .badRequest)
            let response = try await api.post(
                "/v1/sagas/s-1/terminate", #"{"reason": "refunded by hand"}"#, token: ServerFixture.adminToken
            )
            #expect(response.status == .ok)
            #expect(response.json?["status"] == "failed")
            let again = try await api.post("/v1/sagas/s-1/terminate", #"{"reason": "x"}"#, token: ServerFixture.adminToken)
            #expect(again.status == .conflict)
        }
        let terminated = try await fixture.engine.store.events(sagaID: "s-1").first { $0.type == .sagaTerminated }
        #expect(terminated?.json["data"]?["by"] == "ada")
        #expect(terminated?.json["data"]?["reason"] == "refunded by hand")
    }

    @Test func rerunStartsALinkedSaga() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1", "failShip": true], id: "s-1")
        try await fixture.test { api in
            let running = try await api.post("/v1/sagas/s-1/rerun", #"{"id": "s-2", "input": {"orderId": "o-1"}, "latest": true}"#)
            #expect(running.status == .created, "\(running.text)")
            #expect(running.json?["id"] == "s-2")
            #expect(running.json?["rerunOf"] == "s-1")
            let fromStep = try await api.post("/v1/sagas/s-1/rerun", #"{"from": "nope"}"#)
            #expect(fromStep.status == .badRequest)
            let badLatest = try await api.post("/v1/sagas/s-1/rerun", #"{"latest": "yes"}"#)
            #expect(badLatest.status == .badRequest)
            let notFinished = try await api.post("/v1/sagas/s-2/rerun", "{}")
            #expect(notFinished.status == .conflict)
        }
        // Who asked is journaled with the new saga.
        let started = try await fixture.engine.store.events(sagaID: "s-2").first
        #expect(started?.data?["by"] == "otto", "\(String(describing: started))")
    }

    @Test func interventionsListAndResolve() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1", "failShip": true, "failRefund": true], id: "s-1")
        try await fixture.test { api in
            let list = try await api.get("/v1/interventions")
            #expect(list.status == .ok)
            let items = try #require(list.json?["interventions"]?.arrayValue)
            #expect(items.count == 1)
            let expected = try await fixture.engine.interventions()
            #expect(Set(items[0].objectValue?.keys ?? [:].keys) == Set(expected[0].json(now: Date()).objectValue?.keys ?? [:].keys))
            let id = try #require(items[0]["id"]?.stringValue)
            let path = "/v1/interventions/\(id.replacingOccurrences(of: "#", with: "%23"))/resolve"

            let noNote = try await api.post(path, #"{"action": "skip"}"#)
            #expect(noNote.status == .badRequest)
            let badAction = try await api.post(path, #"{"action": "ignore", "note": "x"}"#)
            #expect(badAction.status == .badRequest)
            let extra = try await api.post(path, #"{"action": "skip", "note": "x", "when": "now"}"#)
            #expect(extra.status == .badRequest)

            let skipped = try await api.post(path, #"{"action": "skip", "note": "refunded by hand", "output": {"refunded": true}}"#)
            #expect(skipped.status == .ok, "\(skipped.text)")
            let twice = try await api.post(path, #"{"action": "skip", "note": "again"}"#)
            #expect(twice.status == .conflict)
            #expect(twice.json?["error"]?["message"]?.stringValue?.contains("otto") == true)

            let filtered = try await api.get("/v1/interventions?workflow=pay&olderThan=1h")
            #expect(filtered.json?["interventions"]?.arrayValue?.isEmpty == true)
            let bad = try await api.get("/v1/interventions?olderThan=soon")
            #expect(bad.status == .badRequest)
        }
        let resolved = try await fixture.engine.store.events(sagaID: "s-1").first { $0.type == .interventionResolved }
        #expect(resolved?.json["data"]?["by"] == "otto")
        #expect(resolved?.json["data"]?["note"] == "refunded by hand")
    }

    @Test func statsWorkflowsAndWorkers() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1"], id: "s-a")
        try await fixture.test { api in
            let stats = try await api.get("/v1/stats")
            #expect(stats.status == .ok)
            #expect(stats.json?["total"] == 1)
            #expect(stats.json?["byStatus"]?["completed"] == 1)

            let workflows = try await api.get("/v1/workflows")
            let first = try #require(workflows.json?["workflows"]?.arrayValue?.first)
            #expect(first["name"] == "pay")
            #expect(first["version"] == 1)
            #expect(first["steps"]?.arrayValue?.map { $0["name"] } == ["charge", "ship"])
            #expect(first["sagas"]?["completed"] == 1)
            #expect(first["inUse"] == false)

            let workers = try await api.get("/v1/workers")
            #expect(workers.status == .ok)
            #expect(workers.json?["workers"]?.arrayValue?.isEmpty == true)
        }
        // A saga leased by a live worker shows that worker.
        let record = try await fixture.engine.start(workflow: "pay", in: fixture.server.catalog, input: ["orderId": "o-2"], id: "s-b")
        _ = try await fixture.engine.store.claim(
            sagaID: record.id, owner: "otherhost:99:n1", now: Date(), leaseUntil: Date().addingTimeInterval(60)
        )
        try await fixture.test { api in
            let workers = try await api.get("/v1/workers")
            let worker = try #require(workers.json?["workers"]?.arrayValue?.first)
            #expect(worker["id"] == "otherhost:99:n1")
            #expect(worker["host"] == "otherhost")
            #expect(worker["pid"] == 99)
            #expect(worker["held"] == 1)
            #expect(worker["sagas"] == ["s-b"])
            #expect(worker["state"] == "live")
        }
    }

    @Test func eventsStreamResumesAfterLastEventID() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1"], id: "s-a")
        let count = try await fixture.engine.store.events(sagaID: "s-a").count
        try await fixture.test { api in
            let all = try await api.get("/v1/events?saga=s-a")
            #expect(all.status == .ok)
            #expect(all.headers[.contentType] == "text/event-stream")
            let ids = all.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }
            #expect(ids.count == count)
            #expect(all.text.contains("event: saga.started"))
            #expect(all.text.contains(#""sagaId":"s-a""#))

            let resumed = try await api.request(
                .get, "/v1/events?saga=s-a", token: ServerFixture.viewerToken, headers: [SagaServerTestNames.lastEventID: "2"]
            )
            let resumedIDs = resumed.text.split(separator: "\n").filter { $0.hasPrefix("id: ") }
            #expect(resumedIDs.first == "id: 3")
            #expect(resumedIDs.count == count - 2)

            let missing = try await api.get("/v1/events?saga=nope")
            #expect(missing.status == .notFound)
            let badCursor = try await api.request(
                .get, "/v1/events?saga=s-a", token: ServerFixture.viewerToken, headers: [SagaServerTestNames.lastEventID: "x"]
            )
            #expect(badCursor.status == .badRequest)
        }
    }
}

enum SagaServerTestNames {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}

extension SagaEvent {
    func jsonString() -> String { json.jsonString }
}
