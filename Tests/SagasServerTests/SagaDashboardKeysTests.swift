import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Testing

/// The saga page of a pending saga that waits for an exclusive key names the key and links the saga that holds it
/// (issue 21); the key, made from the input, is escaped.
@Suite(.timeLimit(.minutes(2)))
struct SagaDashboardKeysTests {
    static let workflow = """
        {"name": "locked", "version": 1, "exclusive": "account:${input.account}",
         "defaults": {"retry": {"maxAttempts": 1}},
         "steps": [
          {"name": "hold", "kind": "readonly", "await": {"timeout": "1h"},
           "action": {"handler": {"name": "hold"}}}
         ]}
        """

    @Test func aPendingSagaNamesTheKeyAndLinksItsHolder() async throws {
        let fixture = try ServerFixture()
        try Self.workflow.write(toFile: fixture.directory + "/locked.json", atomically: true, encoding: .utf8)
        fixture.engine.register(handler: "hold") { _ in ["accepted": true] }
        let input: JSONValue = ["account": "<a&b>"]
        let first = try await fixture.engine.start(workflow: "locked", in: fixture.server.catalog, input: input, id: "k-1")
        #expect(try await fixture.engine.run(sagaID: first.id).status == .waiting)
        _ = try await fixture.engine.start(workflow: "locked", in: fixture.server.catalog, input: input, id: "k-2")
        try await fixture.test { api in
            let cookie = try await SagaDashboardTests.login(api, token: ServerFixture.viewerToken)
            let waiting = try await SagaDashboardTests.page(api, "/sagas/k-2", cookie: cookie)
            #expect(waiting.status == .ok)
            #expect(waiting.text.contains("<h2>Exclusive keys</h2>"), "\(waiting.text)")
            #expect(
                waiting.text.contains(
                    "<tr><td>account:&lt;a&amp;b&gt;</td><td>waits</td><td><a href=\"/sagas/k-1\">k-1</a></td>"
                        + "<td class=\"num\">1</td></tr>"),
                "\(waiting.text)")
            #expect(!waiting.text.contains("<a&b>"), "the key is escaped")
            let holding = try await SagaDashboardTests.page(api, "/sagas/k-1", cookie: cookie)
            #expect(
                holding.text.contains("<tr><td>account:&lt;a&amp;b&gt;</td><td>held</td><td>this saga</td>"),
                "\(holding.text)")
        }
    }
}
