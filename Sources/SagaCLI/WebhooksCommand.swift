import ArgumentParser
import Foundation
import Sagas
import SagasHTTP

/// `saga webhooks`: subscriptions to lifecycle events, and their deliveries (issue 19).
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "Subscribe other services to saga lifecycle events, delivered as signed webhooks.",
        discussion: """
            `saga worker` delivers them: it reads committed journal events, POSTs each subscription the events \
            it wants (in order per saga), signed as Standard Webhooks says, and retries failures for about a day. \
            See Docs/events.md for the events and Docs/operations.md for running it.

            Examples:
              saga webhooks add https://hooks.example.com/sagas --secret @secret.txt --events saga.completed
              saga webhooks list
              saga webhooks deliveries --failed
              saga webhooks replay --since 2h
            """,
        subcommands: [
            WebhooksAddCommand.self, WebhooksListCommand.self, WebhooksRemoveCommand.self, WebhooksPauseCommand.self,
            WebhooksResumeCommand.self, WebhooksSecretsCommand.self, WebhooksDeliveriesCommand.self,
            WebhooksReplayCommand.self,
        ]
    )

    /// The client on the database `--db` names; any store that keeps webhooks (`SagaStoreWebhooks`).
    static func client(_ global: GlobalOptions, _ access: GlobalOptions.StoreAccess) async throws -> SagaWebhooks {
        let store: any SagaStore = try await global.openStore(access)
        return try CLI.guarded { try SagaWebhooks(store: store) }
    }

    /// `--secret` values: `whsec_…` as given, `@PATH` read from a file.
    static func readSecrets(_ values: [String]) throws -> [String] {
        try values.map { value -> String in
            guard value.hasPrefix("@") else { return value }
            let path = String(value.dropFirst())
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw CLIError("cannot read the secret file \(path)", exitCode: CLI.ExitCodes.invalidInput)
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    static func json(_ s: SagaWebhookSubscription) -> JSONValue { s.json }

    static func json(_ d: SagaWebhookDelivery) -> JSONValue { d.json }
}

struct WebhooksAddCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Subscribe an address to lifecycle events committed from now on.",
        discussion: """
            --secret is whsec_ followed by base64 (24 bytes or more); @PATH reads it from a file, so that it stays \
            out of the shell history and the process list. Repeat --secret while rotating: each delivery carries \
            one signature per secret. The secret is stored in the database, and only ever shown as whsec_…abcd.
            The address goes through the same guard as http steps: no link-local or metadata address, and with \
            --allow-host (or $SAGA_HTTP_ALLOW) only the hosts listed; `saga worker` checks it again at each delivery.

            Examples:
              saga webhooks add https://hooks.example.com/sagas --secret @secret.txt
              saga webhooks add http://127.0.0.1:8080/hook --secret whsec_… --events saga.completed,saga.failed --workflow order
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var http: HTTPOptions
    @Argument(help: "The http or https address events are POSTed to.")
    var url: String
    @Option(help: ArgumentHelp("A signing secret, whsec_… or @PATH (repeat it while rotating).", valueName: "secret"))
    var secret: [String] = []
    @Option(help: ArgumentHelp("Comma-separated event types (default: all).", valueName: "types"))
    var events: String?
    @Option(help: "Only sagas of this workflow.")
    var workflow: String?
    @Flag(help: "Print the subscription as JSON.")
    var json = false

    func execute() async throws {
        guard !secret.isEmpty else {
            throw CLIError("--secret is required (whsec_… or @PATH)", exitCode: CLI.ExitCodes.invalidInput)
        }
        let secrets = try WebhooksCommand.readSecrets(secret)
        let types = try CLI.guarded { try events.map(SagaWebhookEventType.parseList) ?? [] }
        if let host = URL(string: url)?.host {
            do {
                _ = try await HTTPAddressGuard.check(host: host, allowedHosts: http.allowedHostList)
            } catch let refusal as HTTPAddressGuard.Refusal where !refusal.isRetryable {
                throw CLIError("webhook address refused: \(refusal.description)", exitCode: CLI.ExitCodes.invalidInput)
            } catch {
                // A name that does not resolve yet is accepted: deliveries retry it.
            }
        }
        let client = try await WebhooksCommand.client(global, .create)
        let added = try await CLI.guarded {
            try await client.add(url: url, secrets: secrets, eventTypes: types, workflow: workflow)
        }
        if json {
            CLI.printJSON(WebhooksCommand.json(added))
        } else {
            print("added webhook \(added.id) → \(added.url) (secret \(added.maskedSecrets.joined(separator: ", ")))")
        }
    }
}

struct WebhooksListCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List webhook subscriptions, their state, and how many deliveries are pending or failed."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print a JSON array.")
    var json = false

    func execute() async throws {
        let client = try await WebhooksCommand.client(global, .read)
        let list = try await CLI.guarded { try await client.list() }
        var counts: [String: (pending: Int, failed: Int)] = [:]
        for s in list {
            let pending = try await CLI.guarded {
                try await client.deliveries(.init(states: [.pending], subscriptionID: s.id, limit: 100_000)).count
            }
            let failed = try await CLI.guarded {
                try await client.deliveries(.init(states: [.failed], subscriptionID: s.id, limit: 100_000)).count
            }
            counts[s.id] = (pending, failed)
        }
        if json {
            CLI.printJSON(.array(list.map { s in
                guard case .object(var o) = WebhooksCommand.json(s) else { return .null }
                o["pending"] = .integer(counts[s.id]?.pending ?? 0)
                o["failed"] = .integer(counts[s.id]?.failed ?? 0)
                return .object(o)
            }))
            return
        }
        if list.isEmpty {
            print("no webhook subscriptions")
            return
        }
        let now = Date()
        let rows = list.map { s -> [String] in
            var state = s.state.rawValue
            if let reason = s.stateReason { state += " (\(reason))" }
            if s.state == .active, let since = s.failingSince { state += " (failing for \(Output.age(since, now: now)))" }
            return [
                s.id, Output.truncate(s.url, 50), s.eventTypes.isEmpty ? "all" : s.eventTypes.map(\.rawValue).joined(separator: ","),
                s.workflow ?? "*", s.maskedSecrets.joined(separator: " "), state,
                "\(counts[s.id]?.pending ?? 0)", "\(counts[s.id]?.failed ?? 0)",
            ]
        }
        print(Output.table(["ID", "URL", "EVENTS", "WORKFLOW", "SECRETS", "STATE", "PENDING", "FAILED"], rows))
    }
}

struct WebhooksRemoveCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Delete a subscription and its deliveries."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The subscription's id (wh_…).")
    var id: String

    func execute() async throws {
        let client = try await WebhooksCommand.client(global, .write)
        try await CLI.guarded { try await client.remove(id: id) }
        print("removed webhook \(id)")
    }
}

struct WebhooksPauseCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop delivering to a subscription; its events keep being queued and go out on resume."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The subscription's id (wh_…).")
    var id: String

    func execute() async throws {
        let client = try await WebhooksCommand.client(global, .write)
        try await CLI.guarded { try await client.pause(id: id) }
        print("paused webhook \(id)")
    }
}

struct WebhooksResumeCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Deliver to a paused or disabled subscription again.",
        discussion: """
            A paused subscription gets what was queued meanwhile. A disabled one (its receiver answered 410) \
            queued nothing while disabled: it receives the events committed from its position on, which the \
            journal kept (`saga purge` keeps events a subscription that is not disabled has not queued).
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The subscription's id (wh_…).")
    var id: String

    func execute() async throws {
        let client = try await WebhooksCommand.client(global, .write)
        try await CLI.guarded { try await client.resume(id: id) }
        print("resumed webhook \(id)")
    }
}

struct WebhooksSecretsCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Replace a subscription's signing secrets (rotation).",
        discussion: """
            Rotate in three steps: `secrets ID --secret NEW --secret OLD` (each request carries both signatures), \
            move the receiver to NEW, then `secrets ID --secret NEW`. Deliveries sent from then on, retries \
            included, are signed with the secrets given.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The subscription's id (wh_…).")
    var id: String
    @Option(help: ArgumentHelp("A signing secret, whsec_… or @PATH (repeat it).", valueName: "secret"))
    var secret: [String] = []

    func execute() async throws {
        guard !secret.isEmpty else {
            throw CLIError("--secret is required (whsec_… or @PATH)", exitCode: CLI.ExitCodes.invalidInput)
        }
        let secrets = try WebhooksCommand.readSecrets(secret)
        let client = try await WebhooksCommand.client(global, .write)
        try await CLI.guarded { try await client.setSecrets(id: id, secrets: secrets) }
        print("webhook \(id) now signs with \(secrets.map(SagaWebhookSubscription.mask).joined(separator: ", "))")
    }
}

struct WebhooksDeliveriesCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries",
        abstract: "List deliveries, newest first: pending, delivered, or failed for good."
    )

    @OptionGroup var global: GlobalOptions
    @Flag(help: "Only deliveries that failed for good (replay them with `saga webhooks replay`).")
    var failed = false
    @Option(help: "Only this subscription's.")
    var subscription: String?
    @Option(help: "At most this many.")
    var limit: Int = 100
    @Flag(help: "Print a JSON array.")
    var json = false

    func execute() async throws {
        guard limit >= 1 else { throw CLIError("--limit must be 1 or more", exitCode: CLI.ExitCodes.invalidInput) }
        let client = try await WebhooksCommand.client(global, .read)
        let list = try await CLI.guarded {
            try await client.deliveries(.init(states: failed ? [.failed] : [], subscriptionID: subscription, limit: limit))
        }
        if json {
            CLI.printJSON(.array(list.map(WebhooksCommand.json)))
            return
        }
        if list.isEmpty {
            print(failed ? "no failed deliveries" : "no deliveries")
            return
        }
        let now = Date()
        let rows = list.map { d in
            [
                d.id, d.subscriptionID, d.sagaID, d.type.rawValue, d.state.rawValue, "\(d.attempts)",
                d.state == .pending ? Output.relative(d.nextAttemptAt, now: now) : "",
                Output.truncate(d.lastError ?? d.lastStatus.map { "HTTP \($0)" } ?? "", 40),
            ]
        }
        print(Output.table(["ID", "SUBSCRIPTION", "SAGA", "TYPE", "STATE", "ATTEMPTS", "NEXT", "LAST RESULT"], rows))
    }
}

struct WebhooksReplayCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Send deliveries again: one by id, or every one queued since a time.",
        discussion: """
            A replayed delivery keeps its webhook-id and body and gets a fresh retry schedule; `saga worker` sends \
            it. --since takes a duration ago (2h) or an ISO 8601 time, and replays delivered and failed ones.

            Examples:
              saga webhooks replay msg_0f3c…
              saga webhooks replay --since 2026-11-30T00:00:00Z
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The delivery's id (its webhook-id, msg_…).")
    var deliveryID: String?
    @Option(help: ArgumentHelp("Replay every delivery queued since then.", valueName: "time"))
    var since: String?

    func execute() async throws {
        guard (deliveryID == nil) != (since == nil) else {
            throw CLIError("give a delivery id or --since TIME, not both", exitCode: CLI.ExitCodes.invalidInput)
        }
        let client = try await WebhooksCommand.client(global, .write)
        if let deliveryID {
            try await CLI.guarded { try await client.replay(deliveryID: deliveryID) }
            print("replaying \(deliveryID)")
        } else if let since {
            let cutoff = try FilterOptions.time(since, option: "--since", now: Date())
            let count = try await CLI.guarded { try await client.replay(since: cutoff) }
            print("replaying \(count) deliver\(count == 1 ? "y" : "ies") queued since \(SagaTime.format(cutoff))")
        }
    }
}

extension WebhookOptions {
    /// The address guard of `http` steps for `POST /v1/webhooks`, as `saga webhooks add` applies it: a refused
    /// address is an invalid argument (400); a name that does not resolve yet is accepted (deliveries retry it).
    static func addressCheck(allowedHosts: [String]?) -> @Sendable (String) async throws -> Void {
        { url in
            guard let host = URL(string: url)?.host else { return }
            do {
                _ = try await HTTPAddressGuard.check(host: host, allowedHosts: allowedHosts)
            } catch let refusal as HTTPAddressGuard.Refusal where !refusal.isRetryable {
                throw SagaError(.invalidArgument, "webhook address refused: \(refusal.description)")
            } catch {
                // Not resolvable now: accepted.
            }
        }
    }
}
