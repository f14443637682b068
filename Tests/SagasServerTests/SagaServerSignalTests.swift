import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Synchronization
import Testing

/// `POST /v1/sagas/{id}/steps/{step}/signal`: the callback token authorizes it; an operator may signal too.
@Suite(.timeLimit(.minutes(2)))
struct SagaServerSignalTests {
    static let waitWorkflow = """
        {"name": "wait", "version": 1, "defaults": {"retry": {"maxAttempts": 1}},
         "steps": [
          {"name": "hold", "kind": "readonly", "await": {"timeout": "1h"},
           "action": {"handler": {"name": "hold", "input": {"token": "${step.token}"}}}},
          {"name": "after", "kind": "readonly", "action": {"handler": {"name": "after"}}}
         ]}
        """

    @Test func callbackTokenAuthorizesTheSignal() async throws {
        let fixture = try ServerFixture()
        try Self.waitWorkflow.write(toFile: fixture.directory + "/wait.json", atomically: true, encoding: .utf8)
        let tokens = Mutex<[String: String]>([:])
        fixture.engine.register(handler: "hold") { context in
            tokens.withLock { $0[context.sagaID] = context.input["token"]?.stringValue }
            return ["accepted": true]
        }
        fixture.engine.register(handler: "after") { _ in ["done": true] }
        for id in ["w-1", "w-2"] {
            let record = try await fixture.engine.start(workflow: "wait", in: fixture.server.catalog, input: [:], id: id)
            #expect(try await fixture.engine.run(sagaID: record.id).status == .waiting)
        }
        let token = try #require(tokens.withLock { $0["w-1"] })
        try await fixture.test { api in
            let shown = try await api.get("/v1/sagas/w-1")
            #expect(shown.json?["status"] == "waiting")
            #expect(shown.json?["waits"]?.arrayValue?.count == 1)
            #expect(!shown.text.contains(token), "the callback token must never be printed")

            let wrong = try await api.post(
                "/v1/sagas/w-1/steps/hold/signal", #"{"token": "nope", "output": {}}"#, token: nil)
            #expect(wrong.status == .forbidden, "\(wrong.text)")
            #expect(wrong.errorCode == "wrong_token")
            let none = try await api.post("/v1/sagas/w-1/steps/hold/signal", #"{"output": {}}"#, token: nil)
            #expect(none.status == .unauthorized)
            let both = try await api.post(
                "/v1/sagas/w-1/steps/hold/signal", #"{"token": "\#(token)", "output": {}, "error": "x"}"#, token: nil)
            #expect(both.status == .badRequest)

            let ok = try await api.post(
                "/v1/sagas/w-1/steps/hold/signal", #"{"token": "\#(token)", "output": {"charge": "c-1"}}"#, token: nil)
            #expect(ok.status == .ok, "\(ok.text)")
            #expect(ok.json?["disposition"] == "resolved")
            let again = try await api.post(
                "/v1/sagas/w-1/steps/hold/signal", #"{"token": "\#(token)", "output": {"charge": "c-1"}}"#, token: nil)
            #expect(again.json?["disposition"] == "duplicate")
            let other = try await api.post(
                "/v1/sagas/w-1/steps/hold/signal", #"{"token": "\#(token)", "error": "late"}"#, token: nil)
            #expect(other.status == .conflict)
            #expect(other.errorCode == "stale_signal")

            // An operator may settle the waiting attempt without its token; a viewer may not.
            let viewer = try await api.post(
                "/v1/sagas/w-2/steps/hold/signal", #"{"error": "given up", "permanent": true}"#,
                token: ServerFixture.viewerToken)
            #expect(viewer.status == .unauthorized)
            let byOperator = try await api.post(
                "/v1/sagas/w-2/steps/hold/signal", #"{"error": "given up", "permanent": true}"#)
            #expect(byOperator.status == .ok, "\(byOperator.text)")
        }
        #expect(try await fixture.engine.run(sagaID: "w-1").status == .completed)
        #expect(try await fixture.engine.run(sagaID: "w-2").status == .compensated)
        let events = try await fixture.engine.snapshot(sagaID: "w-2").events
        #expect(events.first { $0.type == .stepSignalled }?.data?["by"] == "otto")
    }

    @Test func readOnlyServerRefusesSignals() async throws {
        let fixture = try ServerFixture(readOnly: true)
        try await fixture.test { api in
            let refused = try await api.post("/v1/sagas/w-1/steps/hold/signal", #"{"token": "t", "output": {}}"#, token: nil)
            #expect(refused.status == .forbidden)
        }
    }
}
