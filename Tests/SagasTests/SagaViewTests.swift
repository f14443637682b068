import Foundation
import Sagas
import SagasTesting
import Testing

/// The views (`SagaSummaryView`, `SagaDetailView`): the shape `--json` and the HTTP API print, encoded without
/// losing numbers' text, and decodable again by a client.
@Suite(.timeLimit(.minutes(1)))
struct SagaViewTests {
    typealias S = TestSupport

    @Test func theEncoderKeepsNumbersAsWrittenAndNullsThatAreAsked() throws {
        struct Probe: Encodable {
            var value: JSONValue
            var missing: String?
            var list: [Int]
            func encode(to encoder: any Encoder) throws {
                enum K: String, CodingKey { case value, missing, list, nested }
                var c = encoder.container(keyedBy: K.self)
                try c.encode(value, forKey: .value)
                try c.encode(missing, forKey: .missing)
                try c.encode(list, forKey: .list)
                var nested = c.nestedContainer(keyedBy: K.self, forKey: .nested)
                try nested.encode(true, forKey: .value)
            }
        }
        let amount = try JSONValue(parsing: "{\"amount\": 1.10}")
        let json = try JSONValueEncoder().encode(Probe(value: amount, missing: nil, list: [1, 2]))
        #expect(json.jsonString == #"{"list":[1,2],"missing":null,"nested":{"value":true},"value":{"amount":1.10}}"#)
    }

    @Test func aSummaryAndADetailRoundTripThroughTheirJSON() async throws {
        let engine = InterventionTests.engine()
        let recorder = HandlerRecorder()
        InterventionTests.register(engine, recorder)
        let record = try await engine.execute(
            InterventionTests.definition(), input: try JSONValue(parsing: #"{"orderId": "o-1", "total": 12.50}"#), id: "view-1"
        )
        #expect(record.status == .needsIntervention)
        let open = try #require(try await engine.interventions().first)
        _ = try await engine.resolve(open.intervention.id, .skip(output: nil), by: "alice", note: "by hand")
        _ = try await engine.run(sagaID: "view-1")
        let snapshot = try await engine.snapshot(sagaID: "view-1")
        let now = Date()

        let detail = SagaDetailView(snapshot, now: now)
        let json = snapshot.json(now: now)
        #expect(json == (try JSONValueEncoder().encode(detail)))
        // The input keeps its text: 12.50, not 12.5.
        #expect(json.jsonString.contains(#""total":12.50"#))
        guard case .object(let object) = json else { Issue.record("not an object: \(json)"); return }
        for key in ["id", "workflow", "version", "status", "createdAt", "updatedAt", "stuck", "currentStep", "lastError",
            "owner", "key", "rerunOf", "input", "leaseExpiresAt", "reruns", "reason", "steps", "waits", "interventions",
            "events"]
        {
            #expect(object[key] != nil, "saga show --json has \(key)")
        }
        #expect(object["journalError"] == nil && object["damaged"] == nil && object["exclusiveKeys"] == nil)
        #expect(object["key"] == .null, "an absent business key is null, not missing")

        // A client decodes what the API returns into the same view.
        let decoded = try JSONDecoder().decode(SagaDetailView.self, from: Data(json.jsonString.utf8))
        #expect(decoded.summary.id == "view-1")
        #expect(decoded.summary.status == .compensated)
        #expect(decoded.steps.map(\.name) == ["a", "b", "c"])
        #expect(decoded.interventions.first?.resolution?.by == "alice")
        #expect(decoded.interventions.first?.phase == .compensation)
        #expect(decoded.events.count == snapshot.events.count)
        #expect(abs(decoded.summary.createdAt.timeIntervalSince(snapshot.record.createdAt)) < 0.001)

        let summary = try JSONDecoder().decode(
            SagaSummaryView.self, from: Data(snapshot.record.summaryJSON(now: now).jsonString.utf8)
        )
        #expect(summary == SagaSummaryView(snapshot.record, now: now) || summary.id == "view-1")
        #expect(summary.cancelRequestedAt == nil && summary.damaged == nil)
    }
}

extension SagaViewTests {
    @Test func anInterventionAndAWorkerRoundTripThroughTheirJSON() async throws {
        let engine = InterventionTests.engine()
        let recorder = HandlerRecorder()
        InterventionTests.register(engine, recorder)
        _ = try await engine.execute(InterventionTests.definition(), input: ["orderId": "o-2"], id: "view-2")
        let summary = try #require(try await engine.interventions().first)
        let now = Date()
        let json = summary.json(now: now, maxAutomaticRetries: 5)
        let view = try JSONDecoder().decode(SagaInterventionView.self, from: Data(json.jsonString.utf8))
        #expect(view.saga == "view-2" && view.step == "b" && view.phase == .compensation)
        #expect(view.automaticRetriesLeft == 5)
        #expect(view.resolution == nil)
        guard case .object(let object) = json else { Issue.record("not an object"); return }
        #expect(object["lastError"] == .string("refund API down"))
        #expect(object["resolution"] == nil, "an open intervention has no resolution key")

        let worker = SagaWorkerSummary(
            id: "host:42:n", host: "host", pid: 42, sagas: ["a", "b"], leaseExpiresAt: now, lastProgressAt: nil,
            state: .live
        )
        let workerJSON = worker.json(now: now)
        guard case .object(let w) = workerJSON else { Issue.record("not an object"); return }
        #expect(w["held"] == 2 && w["pid"] == 42 && w["lastProgressAt"] == .null && w["state"] == "live")
        let decoded = try JSONDecoder().decode(SagaWorkerSummary.self, from: Data(workerJSON.jsonString.utf8))
        #expect(decoded.sagas == ["a", "b"] && decoded.pid == 42 && decoded.state == .live)
    }
}

extension SagaViewTests {
    @Test func statisticsListEveryStatusAndRoundTrip() throws {
        let now = Date()
        let stats = SagaStatistics(
            byStatus: [.completed: 3, .needsIntervention: 1],
            byWorkflow: [.init(workflow: "order", version: 1, status: .completed, count: 3)],
            stuck: 0,
            oldestInterventionAt: now.addingTimeInterval(-90),
            finishedLastMinute: 2,
            finishedLastHour: 3
        )
        let json = stats.json(now: now)
        #expect(json["byStatus"]?["pending"] == 0, "a status with no saga is listed with 0")
        #expect(json["byStatus"]?["needs_intervention"] == 1)
        #expect(json["interventions"]?["oldestAgeSeconds"] == 90)
        let view = try JSONDecoder().decode(SagaStatisticsView.self, from: Data(json.jsonString.utf8))
        #expect(view.total == 4 && view.byWorkflow.first?.status == .completed && view.finished.lastHour == 3)
        let empty = SagaStatistics().json(now: now)
        #expect(empty["interventions"]?["oldestSince"] == .null && empty["interventions"]?["oldestAgeSeconds"] == .null)
    }
}
