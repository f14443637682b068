import Foundation
import Sagas
import SagasPostgres
import Testing

/// URLs, passwords and their sources: no server needed.
@Suite struct PostgresStoreConfigurationTests {
    @Test func parsesAFullURL() throws {
        let c = try PostgresStoreConfiguration(
            url: "postgresql://alice:s%40cret@db.example:6543/orders?sslmode=require&schema=sagas_prod",
            environment: [:]
        )
        #expect(c.host == "db.example")
        #expect(c.port == 6543)
        #expect(c.username == "alice")
        #expect(c.password == "s@cret")
        #expect(c.database == "orders")
        #expect(c.schema == "sagas_prod")
        #expect(c.tls == .require)
        #expect(c.redactedURL == "postgres://alice@db.example:6543/orders?schema=sagas_prod&sslmode=require")
        #expect(!"\(c)".contains("cret"))
    }

    @Test func defaultsComeFromTheEnvironment() throws {
        let c = try PostgresStoreConfiguration(
            url: "postgres://",
            environment: ["PGUSER": "bob", "PGPASSWORD": "pw", "PGDATABASE": "jobs"]
        )
        #expect(c.host == "localhost")
        #expect(c.port == 5432)
        #expect(c.username == "bob")
        #expect(c.password == "pw")
        #expect(c.database == "jobs")
        #expect(c.tls == .disable)
        #expect(c.schema == "public")
    }

    @Test func passwordFromAPasswordFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pgpass-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("pgpass").path
        try """
        # comment
        otherhost:5432:*:carol:nope
        127.0.0.1:54329:sagas:carol:pa\\:ss
        *:*:*:*:fallback
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let c = try PostgresStoreConfiguration(
            url: "postgres://carol@127.0.0.1:54329/sagas",
            environment: ["PGPASSFILE": file]
        )
        #expect(c.password == "pa:ss")
        let other = try PostgresStoreConfiguration(url: "postgres://dave@127.0.0.1:54329/x", environment: ["PGPASSFILE": file])
        #expect(other.password == "fallback")
        // The URL's password wins over PGPASSWORD, which wins over the file.
        let env = try PostgresStoreConfiguration(
            url: "postgres://carol@127.0.0.1:54329/sagas", environment: ["PGPASSFILE": file, "PGPASSWORD": "env"]
        )
        #expect(env.password == "env")
    }

    @Test(arguments: [
        "postgres://u:topsecret@h/db?sslmode=bogus",
        "postgres://u:topsecret@h/db?colour=blue",
        "postgres://u:topsecret@h/db?schema=Bad-Name",
    ])
    func refusesBadURLsWithoutThePassword(url: String) throws {
        let error = #expect(throws: SagaError.self) { try PostgresStoreConfiguration(url: url, environment: [:]) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("topsecret") == false)
    }

    @Test func tellsURLsFromPaths() {
        #expect(PostgresStoreConfiguration.isURL("postgres://x"))
        #expect(PostgresStoreConfiguration.isURL("POSTGRESQL://x"))
        #expect(!PostgresStoreConfiguration.isURL("saga.db"))
        #expect(!PostgresStoreConfiguration.isURL("data/postgres.db"))
    }
}
