import Crypto
import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Testing

/// Tokens, roles and read-only mode: who may do what, and that a refused request journals nothing.
@Suite(.timeLimit(.minutes(2)))
struct SagaServerAuthTests {
    @Test func noTokenOrABadTokenIs401WithAChallenge() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            for path in ["/v1/sagas", "/v1/stats", "/v1/sagas/s-1", "/v1/events", "/v1/nothing"] {
                let none = try await api.get(path, token: nil)
                #expect(none.status == .unauthorized, "\(path)")
                #expect(none.errorCode == "unauthorized")
                #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                let bad = try await api.get(path, token: "not-a-token")
                #expect(bad.status == .unauthorized, "\(path)")
            }
            let basic = try await api.request(.get, "/v1/sagas", headers: [.authorization: "Basic dXNlcjpwdw=="])
            #expect(basic.status == .unauthorized)
            let post = try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-1"}}"#, token: nil)
            #expect(post.status == .unauthorized)
            // Public: the health checks and the document.
            #expect(try await api.get("/healthz", token: nil).status == .ok)
            #expect(try await api.get("/v1/openapi.json", token: nil).status == .ok)
        }
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).isEmpty)
    }

    @Test func viewerReadsButCannotAct() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1", "failShip": true, "failRefund": true], id: "s-1")
        let before = try await fixture.engine.store.events(sagaID: "s-1").count
        try await fixture.test { api in
            let viewer = ServerFixture.viewerToken
            for path in ["/v1/sagas", "/v1/sagas/s-1", "/v1/sagas/s-1/plan", "/v1/interventions", "/v1/stats", "/v1/workflows", "/v1/workers"] {
                #expect(try await api.get(path, token: viewer).status == .ok, "\(path)")
            }
            let actions: [(String, String)] = [
                ("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-2"}}"#),
                ("/v1/sagas/s-1/cancel", "{}"),
                ("/v1/sagas/s-1/terminate", #"{"reason": "x"}"#),
                ("/v1/sagas/s-1/rerun", "{}"),
                ("/v1/interventions/s-1/resolve", #"{"action": "retry"}"#),
            ]
            for (path, body) in actions {
                let response = try await api.post(path, body, token: viewer)
                #expect(response.status == .forbidden, "\(path)")
                #expect(response.errorCode == "forbidden", "\(path)")
                #expect(response.json?["error"]?["message"]?.stringValue?.contains("vera") == true)
            }
        }
        #expect(try await fixture.engine.store.events(sagaID: "s-1").count == before)
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).count == 1)
    }

    @Test func operatorActsButCannotAdminister() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1", "failShip": true, "failRefund": true], id: "s-1")
        let before = try await fixture.engine.store.events(sagaID: "s-1").count
        try await fixture.test { api in
            let terminate = try await api.post("/v1/sagas/s-1/terminate", #"{"reason": "x"}"#)
            #expect(terminate.status == .forbidden)
            let abandon = try await api.post("/v1/interventions/s-1/resolve", #"{"action": "abandon", "note": "x"}"#)
            #expect(abandon.status == .forbidden)
            #expect(try await api.post("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-2"}}"#).status == .created)
        }
        #expect(try await fixture.engine.store.events(sagaID: "s-1").count == before)
        try await fixture.test { api in
            let abandon = try await api.post(
                "/v1/interventions/s-1/resolve", #"{"action": "abandon", "note": "gave up"}"#, token: ServerFixture.adminToken
            )
            #expect(abandon.status == .ok)
            #expect(abandon.json?["status"] == "failed")
        }
        let resolved = try await fixture.engine.store.events(sagaID: "s-1").first { $0.type == .interventionResolved }
        #expect(resolved?.json["data"]?["by"] == "ada")
    }

    @Test func readOnlyRefusesEveryChange() async throws {
        let fixture = try ServerFixture(readOnly: true)
        try await fixture.runSaga(["orderId": "o-1", "failShip": true, "failRefund": true], id: "s-1")
        let before = try await fixture.engine.store.events(sagaID: "s-1").count
        try await fixture.test { api in
            let admin = ServerFixture.adminToken
            #expect(try await api.get("/v1/sagas", token: admin).status == .ok)
            let actions: [(String, String)] = [
                ("/v1/sagas", #"{"workflow": "pay", "input": {"orderId": "o-2"}}"#),
                ("/v1/sagas/s-1/cancel", "{}"),
                ("/v1/sagas/s-1/terminate", #"{"reason": "x"}"#),
                ("/v1/sagas/s-1/rerun", "{}"),
                ("/v1/interventions/s-1/resolve", #"{"action": "skip", "note": "x"}"#),
            ]
            for (path, body) in actions {
                let response = try await api.post(path, body, token: admin)
                #expect(response.status == .forbidden, "\(path)")
                #expect(response.errorCode == "read_only", "\(path)")
            }
        }
        #expect(try await fixture.engine.store.events(sagaID: "s-1").count == before)
        #expect(try await fixture.engine.list(SagaQuery(limit: 10)).count == 1)
    }

    @Test func tokensFileParses() throws {
        let hash = SagaAccessTokensTestHex.sha256("secret-1")
        let text = """
            # the team's tokens
            viewer  vera  \(hash)

            operator otto \(SagaAccessTokensTestHex.sha256("secret-2"))   # on call
            admin ada \(SagaAccessTokensTestHex.sha256("secret-3").uppercased())
            """
        let tokens = try SagaAccessTokens.parse(text, file: "tokens.txt")
        #expect(tokens.count == 3)
        #expect(tokens.principal(forToken: "secret-1")?.name == "vera")
        #expect(tokens.principal(forToken: "secret-1")?.role == .viewer)
        #expect(tokens.principal(forToken: "secret-3")?.role == .admin)
        #expect(tokens.principal(forToken: "secret-4") == nil)
        #expect(tokens.principal(forToken: hash) == nil)
    }

    @Test(arguments: [
        ("viewer vera", "tokens.txt:1:", "expected ROLE NAME SHA256"),
        ("boss vera \(SagaAccessTokensTestHex.sha256("x"))", "tokens.txt:1:", "unknown role"),
        ("# ok\nviewer vera my-token-in-clear", "tokens.txt:2:", "64 hex digits"),
        ("viewer vera \(SagaAccessTokensTestHex.sha256("x"))\nadmin vera \(SagaAccessTokensTestHex.sha256("y"))", "tokens.txt:2:", "used twice"),
        ("viewer ver<a \(SagaAccessTokensTestHex.sha256("x"))", "tokens.txt:1:", "invalid name"),
    ])
    func badTokensFileLinesNameFileAndLine(text: String, location: String, message: String) {
        #expect {
            _ = try SagaAccessTokens.parse(text, file: "tokens.txt")
        } throws: { error in
            let description = "\(error)"
            return description.hasPrefix(location) && description.contains(message)
        }
    }
}

enum SagaAccessTokensTestHex {
    static func sha256(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
