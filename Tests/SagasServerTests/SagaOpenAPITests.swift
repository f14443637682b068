import Foundation
import Hummingbird
import Sagas
import SagasServer
import Testing

/// The OpenAPI document is true to the router: the same paths and methods, and the statuses the tests see are
/// documented.
@Suite(.timeLimit(.minutes(1)))
struct SagaOpenAPITests {
    /// `METHOD /path/{param}` of every API route of the router (the dashboard's HTML pages are not in the document).
    static func routerOperations(_ server: SagaServer) -> Set<String> {
        var operations: Set<String> = []
        for route in server.makeRouter().routes {
            let path = route.path.components.map { component -> String in
                let text = "\(component)"
                return text.hasPrefix(":") ? "{\(text.dropFirst())}" : text
            }.joined(separator: "/")
            let full = "/" + path
            guard full.hasPrefix("/v1/") || full == "/healthz" || full == "/readyz" || full == "/metrics" else { continue }
            operations.insert("\(route.method.rawValue) \(full)")
        }
        return operations
    }

    static func documentOperations(_ document: JSONValue) -> Set<String> {
        var operations: Set<String> = []
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys {
                operations.insert("\(method.uppercased()) \(path)")
            }
        }
        return operations
    }

    @Test func documentAndRouterHaveTheSameOperations() async throws {
        let fixture = try ServerFixture()
        let document = try await fixture.test { api in
            let response = try await api.get("/v1/openapi.json", token: nil)
            #expect(response.status == .ok)
            return try #require(response.json)
        }
        #expect(document["openapi"] == "3.1.0")
        let routes = Self.routerOperations(fixture.server)
        let documented = Self.documentOperations(document)
        #expect(routes.count >= 16)
        #expect(routes.subtracting(documented).isEmpty, "routes missing from the document: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
    }

    @Test func everyOperationDocumentsItsErrorsAndRefs() async throws {
        let fixture = try ServerFixture()
        let document = try await fixture.test { api in try #require(try await api.get("/v1/openapi.json", token: nil).json) }
        let schemas = document["components"]?["schemas"]?.objectValue ?? [:]
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:] {
                let responses = operation["responses"]?.objectValue ?? [:]
                #expect(!responses.isEmpty, "\(method) \(path)")
                let isPublic = operation["security"]?.arrayValue?.isEmpty == true
                if !isPublic { #expect(responses["401"] != nil, "\(method) \(path) does not document 401") }
                if method == "post" {
                    #expect(responses["403"] != nil, "\(method) \(path) does not document 403")
                    #expect(responses["413"] != nil, "\(method) \(path) does not document 413")
                }
            }
        }
        // Every $ref names a schema that exists.
        let text = try #require(JSONValue.object(document.objectValue ?? [:]).jsonString as String?)
        for part in text.components(separatedBy: "#/components/schemas/").dropFirst() {
            let name = String(part.prefix { $0 != "\"" })
            #expect(schemas[name] != nil, "unknown schema \(name)")
        }
    }
}
