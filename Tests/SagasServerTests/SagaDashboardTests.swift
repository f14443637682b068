import Foundation
import HTTPTypes
import Sagas
import SagasServer
import Testing

/// The dashboard: login and its cookie, CSRF on every form, roles, security headers, and that user data is
/// escaped everywhere it is shown.
@Suite(.timeLimit(.minutes(2)))
struct SagaDashboardTests {
    static let hostile = "<script>alert(1)</script>"

    /// Logs in with a token through the form and returns the `Cookie` header value of the session.
    static func login(_ api: APIClient, token: String) async throws -> String {
        let response = try await api.request(
            .post, "/login", body: "token=\(token)&next=%2Fsagas",
            headers: [.contentType: "application/x-www-form-urlencoded"]
        )
        #expect(response.status == .seeOther)
        #expect(response.headers[.location] == "/sagas")
        let setCookie = try #require(response.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly"))
        #expect(setCookie.contains("SameSite=Strict"))
        #expect(!setCookie.contains(token))
        return String(setCookie.split(separator: ";")[0])
    }

    static func page(_ api: APIClient, _ path: String, cookie: String) async throws -> APIResponse {
        try await api.request(.get, path, headers: [.cookie: cookie])
    }

    static func form(_ api: APIClient, _ path: String, _ body: String, cookie: String) async throws -> APIResponse {
        try await api.request(
            .post, path, body: body, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"]
        )
    }

    /// The CSRF token a page's forms carry.
    static func csrf(in page: String) throws -> String {
        let marker = "name=\"csrf\" value=\""
        let start = try #require(page.range(of: marker))
        return String(page[start.upperBound...].prefix { $0 != "\"" })
    }

    @Test func pagesNeedALoginAndLoginSetsAStrictCookie() async throws {
        let fixture = try ServerFixture()
        try await fixture.test { api in
            let anonymous = try await api.get("/sagas?status=failed", token: nil)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/login?next=%2Fsagas%3Fstatus%3Dfailed")
            let form = try await api.get("/login", token: nil)
            #expect(form.status == .ok)
            #expect(form.text.contains("type=\"password\""))

            let bad = try await api.request(
                .post, "/login", body: "token=wrong", headers: [.contentType: "application/x-www-form-urlencoded"]
            )
            #expect(bad.status == .unauthorized)
            #expect(bad.headers[.setCookie] == nil)

            let cookie = try await Self.login(api, token: ServerFixture.viewerToken)
            let overview = try await Self.page(api, "/", cookie: cookie)
            #expect(overview.status == .ok)
            #expect(overview.text.contains("vera (viewer)"))

            // The URL printed with a generated token logs in too, and never sends the browser off-site.
            let viaURL = try await api.get("/login?token=\(ServerFixture.adminToken)&next=//evil.example", token: nil)
            #expect(viaURL.status == .seeOther)
            #expect(viaURL.headers[.location] == "/")
            #expect(viaURL.headers[.setCookie] != nil)

            // A forged or stale cookie is no login.
            let forged = try await Self.page(api, "/", cookie: "saga_session=\(String(repeating: "a", count: 64)).\(String(repeating: "b", count: 64))")
            #expect(forged.status == .seeOther)
        }
    }

    @Test func everyPageRendersWithSecurityHeaders() async throws {
        let fixture = try ServerFixture()
        try await fixture.runSaga(["orderId": "o-1"], id: "s-a")
        try await fixture.runSaga(["orderId": "o-2", "failShip": true, "failRefund": true], id: "s-b")
        try await fixture.test { api in
            let pages: [(String, String)] = [
                ("/", "Overview"), ("/sagas", "s-a"), ("/sagas?status=needs_intervention", "s-b"), ("/sagas/s-a", "<svg class=\"timeline\""),
                ("/sagas/s-b", "Interventions"), ("/interventions", "s-b#"), ("/workers", "Workers"), ("/workflows", "<svg class=\"graph\""),
            ]
            for (path, expected) in pages {
                let response = try await api.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix("text/html") == true, "\(path)")
                #expect(response.headers[.contentSecurityPolicy] == "default-src 'self'; script-src 'self'; frame-ancestors 'none'")
                #expect(response.text.contains(expected), "\(path) lacks \(expected)")
                // No inline script: the only script is the static file.
                #expect(response.text.components(separatedBy: "<script").count == 2, "\(path)")
                #expect(response.text.contains("<script src=\"/static/app.js\" defer></script>"))
            }
            let filtered = try await api.get("/sagas?status=needs_intervention")
            #expect(!filtered.text.contains("s-a<"))
            let js = try await api.get("/static/app.js", token: nil)
            #expect(js.status == .ok)
            #expect(js.headers[.contentType]?.hasPrefix("text/javascript") == true)
            let missing = try await api.get("/no-such-page")
            #expect(missing.status == .notFound)
            #expect(missing.headers[.contentType]?.hasPrefix("text/html") == true)
            let missingSaga = try await api.get("/sagas/nope")
            #expect(missingSaga.status == .notFound)
            let badFilter = try await api.get("/sagas?status=bogus")
            #expect(badFilter.status == .badRequest)
        }
    }

    @Test func userDataIsEscapedEverywhere() async throws {
        let fixture = try ServerFixture()
        let input: JSONValue = ["orderId": .string(Self.hostile), "failShip": true, "failRefund": true]
        try await fixture.runSaga(input, id: "s-x")
        _ = try await fixture.engine.resolve("s-x", .retry(input: nil, attempts: nil), by: "<b>mallory</b>", note: "<img src=x onerror=alert(2)>")
        _ = try await fixture.engine.run(sagaID: "s-x")
        try await fixture.test { api in
            for path in ["/", "/sagas", "/sagas?key=\(SagaHTMLTestEscape.query(Self.hostile))", "/sagas/s-x", "/interventions"] {
                let page = try await api.get(path)
                #expect(page.status == .ok, "\(path)")
                #expect(!page.text.contains("<script>alert"), "\(path) shows raw user data")
                #expect(!page.text.contains("<img src=x"), "\(path)")
                #expect(!page.text.contains("<b>mallory"), "\(path)")
            }
            let saga = try await api.get("/sagas/s-x")
            #expect(saga.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(saga.text.contains("&lt;img src=x onerror=alert(2)&gt;"))
            #expect(saga.text.contains("&lt;b&gt;mallory&lt;/b&gt;"))
            let filtered = try await api.get("/sagas?key=\(SagaHTMLTestEscape.query(Self.hostile))")
            #expect(filtered.text.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;\""))
        }
    }

    @Test func formsNeedTheCSRFTokenAndJournalTheTokenName() async throws {
        let fixture = try ServerFixture()
        try await fixture.engine.start(workflow: "pay", in: fixture.server.catalog, input: ["orderId": "o-1"], id: "s-1")
        try await fixture.runSaga(["orderId": "o-2", "failShip": true, "failRefund": true], id: "s-2")
        try await fixture.test { api in
            let cookie = try await Self.login(api, token: ServerFixture.operatorToken)
            let page = try await Self.page(api, "/sagas/s-1", cookie: cookie)
            #expect(page.text.contains("action=\"/sagas/s-1/cancel\""))
            // An operator is offered no terminate.
            #expect(!page.text.contains("/terminate"))
            let csrf = try Self.csrf(in: page.text)

            let noToken = try await Self.form(api, "/sagas/s-1/cancel", "reason=late&confirm=yes", cookie: cookie)
            #expect(noToken.status == .forbidden)
            #expect(noToken.text.contains("csrf_token_invalid"))
            let wrongToken = try await Self.form(api, "/sagas/s-1/cancel", "reason=late&confirm=yes&csrf=\(String(repeating: "0", count: 64))", cookie: cookie)
            #expect(wrongToken.status == .forbidden)
            let unconfirmed = try await Self.form(api, "/sagas/s-1/cancel", "reason=late&csrf=\(csrf)", cookie: cookie)
            #expect(unconfirmed.status == .badRequest)
            #expect((try await fixture.engine.store.saga(id: "s-1"))?.cancelRequested == false)

            let cancel = try await Self.form(api, "/sagas/s-1/cancel", "reason=customer+left&confirm=yes&csrf=\(csrf)", cookie: cookie)
            #expect(cancel.status == .seeOther)
            #expect(cancel.headers[.location]?.hasPrefix("/sagas/s-1?done=") == true)
            #expect((try await fixture.engine.store.saga(id: "s-1"))?.cancelReason == "customer left")
            #expect((try await fixture.engine.store.saga(id: "s-1"))?.cancelBy == "otto")
            let cancelled = try await Self.page(api, "/sagas/s-1", cookie: cookie)
            #expect(cancelled.text.contains("customer left (by otto)"), "\(cancelled.text)")

            let list = try await Self.page(api, "/interventions", cookie: cookie)
            let id = try #require(try await fixture.engine.interventions().first?.intervention.id)
            #expect(list.text.contains("action=\"/interventions/\(SagaHTMLTestEscape.query(id))/resolve\""))
            let resolvePath = "/interventions/\(SagaHTMLTestEscape.query(id))/resolve"
            let noNote = try await Self.form(api, resolvePath, "action=skip&confirm=yes&csrf=\(csrf)", cookie: cookie)
            #expect(noNote.status == .badRequest)
            let abandon = try await Self.form(api, resolvePath, "action=abandon&note=x&confirm=yes&csrf=\(csrf)", cookie: cookie)
            #expect(abandon.status == .forbidden)
            let skip = try await Self.form(
                api, resolvePath, "action=skip&note=refunded+by+hand&output=%7B%22refunded%22%3Atrue%7D&confirm=yes&csrf=\(csrf)", cookie: cookie
            )
            #expect(skip.status == .seeOther, "\(skip.text)")
        }
        let resolved = try await fixture.engine.store.events(sagaID: "s-2").first { $0.type == .interventionResolved }
        #expect(resolved?.json["data"]?["by"] == "otto")
        #expect(resolved?.json["data"]?["note"] == "refunded by hand")
        #expect(resolved?.json["data"]?["output"] == ["refunded": true])
    }

    @Test func viewersAndReadOnlyGetNoForms() async throws {
        let fixture = try ServerFixture(readOnly: true)
        try await fixture.runSaga(["orderId": "o-2", "failShip": true, "failRefund": true], id: "s-2")
        try await fixture.test { api in
            let page = try await api.get("/sagas/s-2", token: ServerFixture.adminToken)
            #expect(!page.text.contains("/cancel\""))
            #expect(page.text.contains("read-only"))
            let post = try await api.request(
                .post, "/sagas/s-2/cancel", token: ServerFixture.adminToken, body: "reason=x&confirm=yes",
                headers: [.contentType: "application/x-www-form-urlencoded"]
            )
            #expect(post.status == .forbidden)
            #expect(post.text.contains("read_only"))
        }
        let viewerFixture = try ServerFixture()
        try await viewerFixture.runSaga(["orderId": "o-2", "failShip": true, "failRefund": true], id: "s-2")
        try await viewerFixture.test { api in
            let page = try await api.get("/interventions")
            #expect(page.text.contains("Resolving needs the operator role"))
            #expect(!page.text.contains("/resolve\""))
        }
    }
}

enum SagaHTMLTestEscape {
    static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
