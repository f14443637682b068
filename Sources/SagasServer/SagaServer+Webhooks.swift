import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Sagas

// `/v1/webhooks` (issue 19): what `saga webhooks` does, through `SagaWebhooks`. Reads need any token; changes need
// the admin role (a subscription sends saga data to an address of the caller's choice) and are refused in
// read-only mode. Secrets are taken, never returned (`whsec_…abcd`). Every change is logged at notice level with the
// token's name (`by`); a pause also keeps it in the subscription's reason.
extension SagaServer {
    /// The fields `POST /v1/webhooks` takes.
    static let webhookFields = ["url", "secrets", "events", "workflow"]

    func addWebhookRoutes(to router: Router<SagaRequestContext>) {
        let webhooks = router.group("/v1/webhooks")

        webhooks.get("") { request, _ -> Response in
            try SagaQueryItems(request.uri.query).check(allowed: [])
            let list = try await self.webhooks().list()
            return Self.jsonResponse(["webhooks": .array(list.map(\.json))])
        }

        webhooks.post("") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "adding a webhook")
            let body = try await self.readObject(request, allowed: Self.webhookFields)
            guard let url = try Self.string(body, "url"), !url.isEmpty else {
                throw Self.badWebhook("'url' is required: the http or https address events are POSTed to")
            }
            let secrets = try Self.strings(body, "secrets")
            guard !secrets.isEmpty else {
                throw Self.badWebhook("'secrets' is required: one or more whsec_… secrets")
            }
            var types: [SagaWebhookEventType] = []
            for name in try Self.strings(body, "events") {
                guard let type = SagaWebhookEventType(rawValue: name) else {
                    throw Self.badWebhook("unknown event type '\(String(name.prefix(64)))'")
                }
                types.append(type)
            }
            let workflow = try Self.string(body, "workflow").flatMap { $0.isEmpty ? nil : $0 }
            if let check = self.configuration.webhookAddressCheck { try await check(url) }
            let added = try await self.webhooks().add(url: url, secrets: secrets, eventTypes: types, workflow: workflow)
            self.logger.notice(
                "webhook added",
                metadata: ["webhook.subscription": "\(added.id)", "url": "\(added.url)", "by": "\(principal.name)"]
            )
            return Self.jsonResponse(added.json, status: .created)
        }

        webhooks.get("/deliveries") { request, _ -> Response in
            let items = SagaQueryItems(request.uri.query)
            try items.check(allowed: ["failed", "subscription", "limit"])
            var query = SagaWebhookDeliveryQuery(limit: 50)
            if try items.flag("failed") == true { query.states = [.failed] }
            if let id = items.first("subscription"), !id.isEmpty { query.subscriptionID = id }
            if let text = items.first("limit") {
                guard let n = Int(text), n >= 1, n <= 1000 else { throw Self.badWebhook("limit must be 1 to 1000") }
                query.limit = n
            }
            let list = try await self.webhooks().deliveries(query)
            return Self.jsonResponse(["deliveries": .array(list.map(\.json))])
        }

        webhooks.post("/deliveries/:id/replay") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "replaying a webhook delivery")
            let id = try Self.parameter(context, "id")
            _ = try await self.readObject(request, allowed: [])
            try await self.webhooks().replay(deliveryID: id)
            self.logger.notice("webhook delivery replayed", metadata: ["webhook.id": "\(id)", "by": "\(principal.name)"])
            return Self.jsonResponse(["replayed": 1])
        }

        webhooks.post("/replay") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "replaying webhook deliveries")
            let body = try await self.readObject(request, allowed: ["since"])
            guard let text = try Self.string(body, "since"), !text.isEmpty else {
                throw Self.badWebhook("'since' is required: a duration ago (2h) or an ISO 8601 time")
            }
            let now = Date()
            let since = try Self.time(text, "since", now: now)
            let count = try await self.webhooks().replay(since: since, now: now)
            self.logger.notice(
                "webhook deliveries replayed",
                metadata: ["since": "\(SagaTime.format(since))", "count": "\(count)", "by": "\(principal.name)"]
            )
            return Self.jsonResponse(["replayed": .integer(count)])
        }

        webhooks.delete("/:id") { _, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "removing a webhook")
            let id = try Self.parameter(context, "id")
            try await self.webhooks().remove(id: id)
            self.logger.notice("webhook removed", metadata: ["webhook.subscription": "\(id)", "by": "\(principal.name)"])
            return Response(status: .noContent)
        }

        webhooks.post("/:id/pause") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "pausing a webhook")
            let id = try Self.parameter(context, "id")
            let body = try await self.readObject(request, allowed: ["reason"])
            let why = (try Self.string(body, "reason") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            let reason = (why.isEmpty ? "paused" : String(why.prefix(500))) + " (by \(principal.name))"
            try await self.webhooks().pause(id: id, reason: reason)
            self.logger.notice("webhook paused", metadata: ["webhook.subscription": "\(id)", "by": "\(principal.name)"])
            return Self.jsonResponse(try await self.subscription(id).json)
        }

        webhooks.post("/:id/resume") { request, context -> Response in
            let principal = try self.authorize(context, .admin, change: true, action: "resuming a webhook")
            let id = try Self.parameter(context, "id")
            _ = try await self.readObject(request, allowed: [])
            try await self.webhooks().resume(id: id)
            self.logger.notice("webhook resumed", metadata: ["webhook.subscription": "\(id)", "by": "\(principal.name)"])
            return Self.jsonResponse(try await self.subscription(id).json)
        }
    }

    /// The webhook client on the engine's store (`400` when the store keeps no webhooks).
    func webhooks() throws -> SagaWebhooks {
        try SagaWebhooks(store: engine.store)
    }

    func subscription(_ id: String) async throws -> SagaWebhookSubscription {
        guard let found = try await webhooks().list().first(where: { $0.id == id }) else {
            throw SagaError(.webhookNotFound, "no webhook subscription has id '\(EchoedText.clip(id))'")
        }
        return found
    }

    static func badWebhook(_ message: String) -> SagaServerError {
        SagaServerError(.invalidRequest, message, status: .badRequest)
    }

    /// An array-of-strings field of a body (absent: empty).
    static func strings(_ object: [String: JSONValue], _ key: String) throws -> [String] {
        guard let value = object[key], value != .null else { return [] }
        guard let array = value.arrayValue else { throw badWebhook("'\(key)' must be an array of strings") }
        return try array.map { item in
            guard let text = item.stringValue else { throw badWebhook("'\(key)' must be an array of strings") }
            return text
        }
    }
}
