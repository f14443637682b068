import Foundation
import Logging
import Sagas
import SagasCommand
import SagasTesting
import Testing

/// Secrets through the engine: every altered form stays out of the journal and the logs, and ordinary data that
/// happens to contain a short environment value is not rewritten (issue 14, items 8 and 9).
@Suite(.timeLimit(.minutes(1))) struct SecretEngineTests {
    typealias S = TestSupport

    static func engine(environment: [String: String], logs: CapturedLogs) -> SagaEngine {
        let engine = SagaEngine(
            store: MemorySagaStore(),
            configuration: .init(
                workerID: "test:1:1", leaseDuration: .seconds(30), pollInterval: .milliseconds(10),
                environment: environment),
            logger: Logger(label: "test", factory: { _ in logs.handler() })
        )
        engine.register(executor: CommandExecutor(environment: environment), for: .command)
        return engine
    }

    /// The journal of `id` as text, every event.
    static func journal(_ engine: SagaEngine, _ id: String) async throws -> String {
        try await engine.store.events(sagaID: id).map(\.json.jsonString).joined(separator: "\n")
            + "\n" + (try await engine.store.saga(id: id)?.lastError ?? "")
    }

    /// Whether any 8 characters of `secret` in a row appear in `text`, as they are or percent-decoded.
    static func leaks(_ text: String, _ secret: String) -> Bool {
        let chars = Array(secret)
        let decoded = text.removingPercentEncoding ?? text
        for start in 0...(chars.count - 8) {
            let piece = String(chars[start..<(start + 8)])
            if text.contains(piece) || decoded.contains(piece) { return true }
        }
        return false
    }

    @Test func aShortEnvironmentValueDoesNotRewriteOutputs() async throws {
        let logs = CapturedLogs()
        let engine = Self.engine(environment: ["TENANT": "acme"], logs: logs)
        let recorder = HandlerRecorder()
        engine.register(handler: "create", recorder.recording("create") { _ in ["id": "acme-17"] })
        engine.register(handler: "create.undo", recorder.recording("create.undo") { context in context.input })
        engine.register(handler: "fail") { _ in throw StepFailure.permanent("no") }
        let definition = S.definition([
            SagaStep(
                name: "create",
                action: .handler("create", input: ["headers": ["X-Tenant": "${env.TENANT}"]]),
                compensation: .handler("create.undo", input: ["id": "${steps.create.output.id}"]),
                retry: S.fastRetry(1), compensationRetry: S.fastRetry(1), after: []),
            SagaStep(name: "fail", action: .handler("fail"), retry: S.fastRetry(1), after: ["create"], kind: .readonly),
        ])
        let record = try await engine.execute(definition, input: [:], id: "tenant")
        #expect(record.status == .compensated)
        #expect(recorder.invocations(of: "create").first?.input == ["headers": ["X-Tenant": "acme"]])
        #expect(recorder.invocations(of: "create.undo").first?.input == ["id": "acme-17"])
        let events = try await engine.store.events(sagaID: "tenant")
        #expect(events.first { $0.type == .stepSucceeded }?.output == ["id": "acme-17"])
    }

    @Test func alteredFormsOfASecretStayOutOfTheJournalAndTheLogs() async throws {
        let secret = "AbC+dEf/GhI=jKl9mNoPqRsTuV"
        let logs = CapturedLogs()
        let engine = Self.engine(environment: ["TOKEN": secret, "REGION": "eu-west-1-long"], logs: logs)
        let encoded = Template.percentEncoded(secret)
        engine.register(handler: "call") { context in
            let token = context.input["token"]?.stringValue ?? ""
            context.logger.warning("calling with \(token)", metadata: ["token": .string(token)])
            return [
                "echo": .string("token=\(encoded)"),
                "lower": .string("token=\(encoded.replacingOccurrences(of: "%2F", with: "%2f"))"),
                "escaped": .string(#"{"t":"\#(token.replacingOccurrences(of: "/", with: "\\/"))"}"#),
                "base64": .string(Data("Bearer \(token)".utf8).base64EncodedString()),
                "cut": .string(String(repeating: "x", count: 190) + String(token.prefix(10)) + "…"),
                "regionSeen": .string(context.input["region"]?.stringValue ?? ""),
            ]
        }
        engine.register(handler: "use") { context in
            let token = context.input["token"]?.stringValue ?? ""
            throw StepFailure.permanent("GET https://api/tokens/\(Template.percentEncoded(token)): 401: "
                + String(repeating: "y", count: 195) + String(token.prefix(9)) + "…")
        }
        engine.register(handler: "call.undo") { _ in nil }
        let definition = S.definition([
            SagaStep(
                name: "call", action: .handler("call", input: ["token": "${env.TOKEN}", "region": "${config.REGION}"]),
                compensation: .handler("call.undo"), retry: S.fastRetry(1), after: []),
            SagaStep(
                name: "use", action: .handler("use", input: ["token": "${env.TOKEN}"]), retry: S.fastRetry(1),
                after: ["call"], kind: .readonly),
        ])
        let record = try await engine.execute(definition, input: [:], id: "forms")
        #expect(record.status == .compensated)
        let journal = try await Self.journal(engine, "forms")
        #expect(!Self.leaks(journal, secret), "\(journal)")
        // base64("Bearer " + secret) from its 12th character on encodes only the secret's bytes.
        #expect(!Self.leaks(journal, String(Data("Bearer \(secret)".utf8).base64EncodedString().dropFirst(12))), "\(journal)")
        let logged = logs.lines.joined(separator: "\n")
        #expect(logged.contains("calling with ***"))
        #expect(!Self.leaks(logged, secret), "\(logged)")
        // ${config.…} is not a secret: kept as it is.
        let output = try #require(try await engine.store.events(sagaID: "forms").first { $0.type == .stepSucceeded }?.output)
        #expect(output["regionSeen"] == "eu-west-1-long")
    }

    @Test func aKeyPrintedToStderrAndACutTailAreRedacted() async throws {
        let body = (0..<5).map { n in String(repeating: "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\(n)", count: 2) }
        let pem = (["-----BEGIN PRIVATE KEY-----"] + body + ["-----END PRIVATE KEY-----"]).joined(separator: "\n")
        let token = String((0..<120).map { i in Array("Zq8Xw3Vb7Np2Lr5Ty9Hs4Kd6Gf1Jm0")[i % 30] })
        let logs = CapturedLogs()
        let engine = Self.engine(environment: ["PEM": pem, "TOKEN": token], logs: logs)
        let print = "printf '%s\\n' \"$KEY\" >&2; exit 100"
        // The token's line is cut by the 8 KiB tail: a long line follows it.
        let cut = "printf '%s\\n' \"$KEY\" >&2; head -c 8150 /dev/zero | tr '\\0' y >&2; echo >&2; exit 100"
        let definition = S.definition([
            SagaStep(
                name: "pem", action: .command(["/bin/sh", "-c", print], env: ["KEY": "${env.PEM}"]),
                retry: S.fastRetry(1), after: [], kind: .readonly),
        ])
        let cutDefinition = S.definition([
            SagaStep(
                name: "cut", action: .command(["/bin/sh", "-c", cut], env: ["KEY": "${env.TOKEN}"]),
                retry: S.fastRetry(1), after: [], kind: .readonly),
        ], name: "cut")
        let first = try await engine.execute(definition, input: [:], id: "pem")
        #expect(first.status == .compensated)
        let second = try await engine.execute(cutDefinition, input: [:], id: "cut")
        #expect(second.status == .compensated)
        let journal = try await Self.journal(engine, "pem") + (try await Self.journal(engine, "cut"))
        #expect(journal.contains("exit 100"))
        for line in body { #expect(!Self.leaks(journal, line), "\(journal)") }
        #expect(!Self.leaks(journal, token), "\(journal)")
        let logged = logs.lines.joined(separator: "\n")
        for line in body { #expect(!Self.leaks(logged, line), "\(logged)") }
        #expect(!Self.leaks(logged, token))
    }
}
