import Crypto
public import Foundation
import HTTPTypes

/// What a token may do. Each role may do everything the roles below it may.
public enum SagaRole: String, Sendable, Hashable, CaseIterable, Comparable {
    /// Reads: sagas, plans, interventions, statistics, workers, workflows, events.
    case viewer
    /// Acts on sagas: starts them, cancels them, reruns them, retries or skips interventions.
    case `operator`
    /// Also what cannot be undone by compensation: terminate a saga, abandon an intervention.
    case admin

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }

    public static func < (lhs: SagaRole, rhs: SagaRole) -> Bool { lhs.rank < rhs.rank }
}

/// Who made a request: the name and role of the token it carried. The name is what the journal records as `by`.
public struct SagaPrincipal: Sendable, Hashable {
    public var name: String
    public var role: SagaRole
    /// The SHA-256 of the token (the dashboard's session cookie is signed over it); never the token itself.
    public var tokenHash: [UInt8]

    public init(name: String, role: SagaRole, tokenHash: [UInt8]) {
        self.name = name
        self.role = role
        self.tokenHash = tokenHash
    }
}

/// The tokens the server accepts, kept as SHA-256 hashes only, with the name and role of each.
///
/// A presented token is hashed and compared with every known hash in constant time (no early exit, so the
/// time taken does not tell how much of a hash matched, nor which entry).
public struct SagaAccessTokens: Sendable {
    struct Entry: Sendable {
        var role: SagaRole
        var name: String
        var hash: [UInt8]
    }

    private(set) var entries: [Entry] = []

    public init() {}

    /// How many tokens are known.
    public var count: Int { entries.count }

    /// Every known token's name, role and hash, in the order they were added.
    public var principals: [SagaPrincipal] {
        entries.map { SagaPrincipal(name: $0.name, role: $0.role, tokenHash: $0.hash) }
    }

    /// Adds a token given in clear (such as `SAGA_API_TOKEN`); only its hash is kept.
    public mutating func add(token: String, name: String, role: SagaRole) {
        entries.append(Entry(role: role, name: name, hash: Self.sha256(token)))
    }

    /// Adds a token by the SHA-256 of its text.
    public mutating func add(hash: [UInt8], name: String, role: SagaRole) {
        entries.append(Entry(role: role, name: name, hash: hash))
    }

    /// Reads a tokens file: lines `ROLE NAME SHA256-HEX-OF-TOKEN`; `#` starts a comment, blank lines are skipped.
    ///
    /// - Throws: ``SagaServerError`` `.invalidConfiguration` naming the file and line of the first bad line, or
    ///   a file that cannot be read.
    public static func load(contentsOf path: String) throws(SagaServerError) -> SagaAccessTokens {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SagaServerError(.invalidConfiguration, "cannot read tokens file \(path)", status: .internalServerError)
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path)
    }

    /// Parses the text of a tokens file (see ``load(contentsOf:)``); `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(SagaServerError) -> SagaAccessTokens {
        var tokens = SagaAccessTokens()
        var names: Set<String> = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init)
            if fields.isEmpty { continue }
            func bad(_ why: String) -> SagaServerError {
                SagaServerError(.invalidConfiguration, "\(file):\(lineNumber): \(why)", status: .internalServerError)
            }
            guard fields.count == 3 else {
                throw bad("expected ROLE NAME SHA256-HEX-OF-TOKEN, got \(fields.count) field\(fields.count == 1 ? "" : "s")")
            }
            guard let role = SagaRole(rawValue: fields[0]) else {
                throw bad("unknown role '\(fields[0].prefix(40))'; expected viewer, operator or admin")
            }
            let name = fields[1]
            guard Self.isValidName(name) else {
                throw bad("invalid name '\(name.prefix(40))': use 1 to 64 letters, digits, '-', '_', '.' or '@'")
            }
            guard names.insert(name).inserted else { throw bad("the name \(name) is used twice") }
            guard let hash = Self.bytes(hex: fields[2]), hash.count == 32 else {
                throw bad("the third field must be the 64 hex digits of the token's SHA-256 (not the token itself)")
            }
            tokens.add(hash: hash, name: name, role: role)
        }
        return tokens
    }

    /// The principal of a presented token, or `nil` when no known token matches.
    public func principal(forToken token: String) -> SagaPrincipal? {
        principal(forHash: Self.sha256(token))
    }

    /// The principal whose token has this SHA-256, compared with every entry in constant time.
    public func principal(forHash hash: [UInt8]) -> SagaPrincipal? {
        var found: Entry?
        for entry in entries {
            if Self.constantTimeEqual(entry.hash, hash) && found == nil { found = entry }
        }
        return found.map { SagaPrincipal(name: $0.name, role: $0.role, tokenHash: $0.hash) }
    }

    /// A new random token: 32 bytes from the system's generator, as 64 hex digits.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return hex(bytes)
    }

    /// The SHA-256 of a token's UTF-8 text.
    public static func sha256(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    static func isValidName(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
                || b == 0x2E || b == 0x40
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func bytes(hex text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            guard let high = nibble(chars[i]), let low = nibble(chars[i + 1]) else { return nil }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }
}
