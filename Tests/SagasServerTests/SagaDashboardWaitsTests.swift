import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Synchronization
import Testing

/// The dashboard shows waits: the overview counts waiting sagas, a waiting saga's page says what it waits for and
/// until when, and never prints the callback token.
@Suite(.timeLimit(.minutes(2)))
struct SagaDashboardWaitsTests {
    @Test func aWaitingSagaIsCountedAndItsPageSaysWhatItWaitsFor() async throws {
        let fixture = try ServerFixture()
        try SagaServerSignalTests.waitWorkflow.write(
            toFile: fixture.directory + "/wait.json", atomically: true, encoding: .utf8
        )
        let tokens = Mutex<[String: String]>([:])
        fixture.engine.register(handler: "hold") { context in
            tokens.withLock { $0[context.sagaID] = context.input["token"]?.stringValue }
            return ["accepted": true]
        }
        fixture.engine.register(handler: "after") { _ in ["done": true] }
        let record = try await fixture.engine.start(workflow: "wait", in: fixture.server.catalog, input: [:], id: "w-1")
        #expect(try await fixture.engine.run(sagaID: record.id).status == .waiting)
        let token = try #require(tokens.withLock { $0["w-1"] })
        let until = try #require(try await fixture.engine.snapshot(sagaID: "w-1").state?.waits.first?.until)
        try await fixture.test { api in
            let cookie = try await SagaDashboardTests.login(api, token: ServerFixture.operatorToken)
            let overview = try await SagaDashboardTests.page(api, "/", cookie: cookie)
            #expect(overview.status == .ok)
            #expect(
                overview.text.contains("<a class=\"card\" href=\"/sagas?status=waiting\"><span class=\"n\">1</span>waiting</a>"),
                "\(overview.text)"
            )
            let page = try await SagaDashboardTests.page(api, "/sagas/w-1", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.text.contains("<h2>Waiting</h2>"), "\(page.text)")
            #expect(page.text.contains("<td>hold</td><td>signal</td><td class=\"num\">1</td><td>\(SagaTime.format(until))</td>"),
                    "\(page.text)")
            #expect(!page.text.contains(token), "the callback token must never be printed")
            let listed = try await SagaDashboardTests.page(api, "/sagas?status=waiting", cookie: cookie)
            #expect(listed.text.contains("w-1"))
        }
    }
}
