import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Sagas
import SagasServer

/// A server over an in-memory engine, a temporary workflows folder and one token per role.
struct ServerFixture: Sendable {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    static let viewerToken = "viewer-token-1"
    static let operatorToken = "operator-token-1"
    static let adminToken = "admin-token-1"

    /// `pay@1`: charge (compensated by refund), then ship. Input flags make ship fail for good (`failShip`) and
    /// the refund fail for good (`failRefund`), so a saga can end completed, compensated or needs_intervention.
    static let payWorkflow = """
        {
            "name": "pay",
            "version": 1,
            "key": "${input.orderId}",
            "input": {
                "type": "object",
                "required": ["orderId"],
                "properties": {"orderId": {"type": "string"}, "failShip": {"type": "boolean"}, "failRefund": {"type": "boolean"}}
            },
            "defaults": {
                "retry": {"maxAttempts": 1},
                "compensationRetry": {"maxAttempts": 1}
            },
            "steps": [
                {"name": "charge", "action": {"handler": {"name": "charge"}}, "compensation": {"handler": {"name": "refund"}}},
                {"name": "ship", "after": ["charge"], "action": {"handler": {"name": "ship"}}}
            ]
        }
        """

    let directory: String
    let engine: SagaEngine
    let server: SagaServer

    init(
        readOnly: Bool = false,
        maxBodyBytes: Int = SagaServer.Configuration.defaultMaxBodyBytes,
        metrics: (@Sendable () async -> String)? = nil
    ) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("saga-server-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.payWorkflow.write(toFile: directory + "/pay.json", atomically: true, encoding: .utf8)
        engine = SagaEngine(
            store: MemorySagaStore(),
            configuration: .init(workerID: "testhost:4242:abc", pollInterval: .milliseconds(10), environment: [:]),
            logger: Self.logger
        )
        engine.register(handler: "charge") { _ in ["paid": true] }
        engine.register(handler: "ship") { context in
            if context.input["failShip"]?.boolValue == true { throw StepFailure.permanent("carrier refused") }
            return ["shipped": true]
        }
        engine.register(handler: "refund") { context in
            if context.input["failRefund"]?.boolValue == true { throw StepFailure.permanent("refund API down") }
            return ["refunded": true]
        }
        var tokens = SagaAccessTokens()
        tokens.add(token: Self.viewerToken, name: "vera", role: .viewer)
        tokens.add(token: Self.operatorToken, name: "otto", role: .operator)
        tokens.add(token: Self.adminToken, name: "ada", role: .admin)
        server = SagaServer(
            engine: engine,
            catalog: WorkflowCatalog(directory: directory),
            tokens: tokens,
            configuration: .init(
                readOnly: readOnly, maxBodyBytes: maxBodyBytes, eventPollInterval: .milliseconds(10), metrics: metrics
            ),
            logger: Self.logger
        )
    }

    /// Runs `body` against the router in-process.
    func test<T: Sendable>(_ body: @Sendable (APIClient) async throws -> T) async throws -> T {
        let app = server.makeApplication(host: "127.0.0.1", port: 0)
        return try await app.test(.router) { client in try await body(APIClient(client: client)) }
    }

    /// Starts a saga through the engine and drives it until it finishes or needs a person.
    @discardableResult
    func runSaga(_ input: JSONValue, id: String) async throws -> SagaRecord {
        let record = try await engine.start(workflow: "pay", in: server.catalog, input: input, id: id)
        return try await engine.run(sagaID: record.id)
    }
}

/// A response: status, headers, body text and (when it is JSON) the parsed body.
struct APIResponse: Sendable {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var text: String
    var json: JSONValue? { try? JSONValue(parsing: text) }
    /// The `error.code` of an error body.
    var errorCode: String? { json?["error"]?["code"]?.stringValue }
}

struct APIClient: Sendable {
    let client: any TestClientProtocol

    func request(
        _ method: HTTPRequest.Method,
        _ uri: String,
        token: String? = nil,
        body: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> APIResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(
            uri: uri,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(string: $0) }
        )
        return APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
    }

    func get(_ uri: String, token: String? = ServerFixture.viewerToken) async throws -> APIResponse {
        try await request(.get, uri, token: token)
    }

    func post(_ uri: String, _ body: String?, token: String? = ServerFixture.operatorToken) async throws -> APIResponse {
        try await request(.post, uri, token: token, body: body)
    }
}
