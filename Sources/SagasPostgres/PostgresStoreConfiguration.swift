public import Foundation
public import Sagas

/// Where a `PostgresSagaStore` connects and which schema it keeps its tables in.
///
/// Built from a `postgres://` / `postgresql://` URL with ``init(url:environment:)``, or field by field. The password
/// is never part of ``description`` nor of any error message: messages name the database by ``redactedURL``.
public struct PostgresStoreConfiguration: Sendable, CustomStringConvertible {
    /// How the connection uses TLS (the URL's `sslmode`).
    public enum TLSMode: String, Sendable, Hashable {
        /// No TLS (`sslmode=disable`, `allow`, or no `sslmode`).
        case disable
        /// TLS when the server offers it (`sslmode=prefer`).
        case prefer
        /// TLS or no connection, without checking the server's certificate (`sslmode=require`, as libpq does).
        case require
        /// TLS or no connection, with the server's certificate checked against the system's roots and the host
        /// name (`sslmode=verify-ca`, `verify-full`).
        case verifyFull = "verify-full"
    }

    /// The server's host name or address. Default `localhost`.
    public var host: String
    /// The server's port. Default 5432.
    public var port: Int
    /// The role to log in as. Default: `$PGUSER`, else `$USER`, else `postgres`.
    public var username: String
    /// The password: from the URL, else `$PGPASSWORD`, else the first matching line of the password file
    /// (`$PGPASSFILE`, else `~/.pgpass`). Never logged nor printed.
    public var password: String?
    /// The database. Default: `$PGDATABASE`, else the user name.
    public var database: String
    /// The schema that holds the store's tables (the URL's `schema` parameter). Default `public`. Several stores
    /// can share one database in different schemas.
    public var schema: String
    /// TLS (the URL's `sslmode`). Default `.disable`.
    public var tls: TLSMode
    /// The most connections the store's client opens. Default 10.
    public var maximumConnections: Int
    /// How long opening a connection may take. Default 10 s.
    public var connectTimeout: Duration
    /// `application_name` of the store's connections (the URL's `application_name`), as `pg_stat_activity`
    /// shows it. Default `sagas`.
    public var applicationName: String
    /// How long a statement may go unanswered before it fails with `.databaseUnavailable` (a connection the
    /// server dropped, a server that is down). Default 30 s.
    public var statementTimeout: Duration
    /// Whether appends of several sagas share statements, and so commits (group commit; the URL's
    /// `group_commit=on|off`). Default on; off writes each append in its own statement and commit.
    public var groupCommit = true

    /// A configuration; every parameter but the host has its default.
    public init(
        host: String = "localhost",
        port: Int = 5432,
        username: String,
        password: String? = nil,
        database: String,
        schema: String = "public",
        tls: TLSMode = .disable,
        maximumConnections: Int = 10,
        connectTimeout: Duration = .seconds(10),
        statementTimeout: Duration = .seconds(30),
        applicationName: String = "sagas"
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.schema = schema
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        self.statementTimeout = statementTimeout
        self.applicationName = applicationName
    }

    /// Whether `text` is a PostgreSQL URL (`postgres://` or `postgresql://`) rather than a SQLite path.
    public static func isURL(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("postgres://") || lower.hasPrefix("postgresql://")
    }

    /// Parses `postgres://[user[:password]@]host[:port][/database][?sslmode=…&schema=…]`.
    ///
    /// - Parameter environment: Where `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGPASSFILE`, `HOME` and `USER` are read.
    /// - Throws: `.invalidArgument` for a malformed URL, an unknown `sslmode` or parameter, or a schema name that is
    ///   not a plain identifier. The message never contains the password.
    public init(url text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isURL(text), let components = URLComponents(string: text) else {
            throw SagaError(.invalidArgument, "not a PostgreSQL URL: \(Self.redact(text))")
        }
        func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
        let host = nonEmpty(components.host) ?? "localhost"
        let port = components.port ?? 5432
        let username =
            nonEmpty(components.user) ?? nonEmpty(environment["PGUSER"]) ?? nonEmpty(environment["USER"]) ?? "postgres"
        var path = components.path
        if path.hasPrefix("/") { path.removeFirst() }
        let database = nonEmpty(path.removingPercentEncoding) ?? nonEmpty(environment["PGDATABASE"]) ?? username
        var tls = TLSMode.disable
        var schema = "public"
        var applicationName = "sagas"
        var groupCommit = true
        var poolSize: Int?
        for item in components.queryItems ?? [] {
            let value = item.value ?? ""
            switch item.name {
            case "sslmode":
                switch value {
                case "disable", "allow": tls = .disable
                case "prefer": tls = .prefer
                case "require": tls = .require
                case "verify-ca", "verify-full": tls = .verifyFull
                default:
                    throw SagaError(
                        .invalidArgument,
                        "unknown sslmode '\(value)' (expected disable, allow, prefer, require, verify-ca or verify-full)"
                    )
                }
            case "schema", "search_path":
                schema = value
            case "application_name":
                applicationName = value
            case "connect_timeout":
                continue
            case "group_commit":
                switch value {
                case "on", "true", "1": groupCommit = true
                case "off", "false", "0": groupCommit = false
                default: throw SagaError(.invalidArgument, "group_commit must be on or off, not '\(value)'")
                }
            case "pool_size":
                guard let size = Int(value), size >= 1 else {
                    throw SagaError(.invalidArgument, "pool_size must be a positive number, not '\(value)'")
                }
                poolSize = size
            default:
                throw SagaError(.invalidArgument, "unknown PostgreSQL URL parameter '\(item.name)'")
            }
        }
        self.init(
            host: host, port: port, username: username, database: database, schema: schema, tls: tls,
            applicationName: applicationName
        )
        try Self.checkIdentifier(schema)
        self.groupCommit = groupCommit
        if let poolSize { maximumConnections = poolSize }
        password =
            nonEmpty(components.password) ?? nonEmpty(environment["PGPASSWORD"])
            ?? PostgresPasswordFile.password(
                host: host, port: port, database: database, username: username, environment: environment
            )
    }

    /// The URL without its password, as messages and logs name the database: `postgres://sagas@127.0.0.1:5432/sagas`.
    public var redactedURL: String {
        var text = "postgres://\(username)@\(host):\(port)/\(database)"
        var parameters: [String] = []
        if schema != "public" { parameters.append("schema=\(schema)") }
        if tls != .disable { parameters.append("sslmode=\(tls.rawValue)") }
        if !parameters.isEmpty { text += "?" + parameters.joined(separator: "&") }
        return text
    }

    /// The redacted URL: a configuration printed by accident shows no password.
    public var description: String { redactedURL }

    /// `text` with whatever stands between `://user:` and `@` replaced: for messages about a URL that did not parse.
    static func redact(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text.range(of: "@", range: scheme.upperBound..<text.endIndex)
        else { return text }
        let credentials = text[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return text }
        return text.replacingCharacters(in: colon..<at.lowerBound, with: ":***")
    }

    /// Refuses a schema name that would need quoting (it is written into statements).
    static func checkIdentifier(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_")
        guard let first = name.first, !first.isNumber, name.count <= 63, name.allSatisfy({ allowed.contains($0) }) else {
            throw SagaError(
                .invalidArgument,
                "schema '\(name)' must be 1 to 63 lowercase letters, digits or underscores, not starting with a digit"
            )
        }
    }
}
