import Foundation
import HTTPTypes
import Hummingbird
import Sagas
import SagasServer
import Testing

/// `GET /metrics` and the `traceparent` header of `POST /v1/sagas`.
@Suite struct SagaServerObservabilityTests {
    @Test func metricsNeedATokenAndServeTheText() async throws {
        let fixture = try ServerFixture(metrics: { "saga_started_total{workflow=\"pay\"} 3\n" })
        try await fixture.test { api in
            let anonymous = try await api.get("/metrics", token: nil)
            #expect(anonymous.status == .unauthorized, "\(anonymous.text)")
            let scraped = try await api.get("/metrics")
            #expect(scraped.status == .ok)
            #expect(scraped.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(scraped.text == "saga_started_total{workflow=\"pay\"} 3\n")
        }
        let without = try ServerFixture()
        try await without.test { api in
            let missing = try await api.get("/metrics")
            #expect(missing.status == .notFound)
            #expect(missing.json?["error"]?["code"] == "metrics_not_enabled")
        }
    }

    @Test func aTraceparentHeaderIsJournaledAndAMalformedOneRefused() async throws {
        let fixture = try ServerFixture()
        let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        try await fixture.test { api in
            var headers = HTTPFields()
            headers[HTTPField.Name("traceparent")!] = caller
            let created = try await api.request(
                .post, "/v1/sagas", token: ServerFixture.operatorToken,
                body: #"{"workflow": "pay", "input": {"orderId": "o-1"}, "id": "t-1"}"#, headers: headers
            )
            #expect(created.status == .created, "\(created.text)")
            headers[HTTPField.Name("traceparent")!] = "00-nope-01"
            let refused = try await api.request(
                .post, "/v1/sagas", token: ServerFixture.operatorToken,
                body: #"{"workflow": "pay", "input": {"orderId": "o-2"}, "id": "t-2"}"#, headers: headers
            )
            #expect(refused.status == .badRequest, "\(refused.text)")
            #expect(refused.text.contains("traceparent"))
        }
        let events = try await fixture.engine.store.events(sagaID: "t-1")
        #expect(events.first?.data?["traceparent"] == .string(caller))
        #expect(try await fixture.engine.store.saga(id: "t-2") == nil, "nothing journaled for a refused request")
    }
}
