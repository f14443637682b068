import Foundation
import Sagas

/// An `http` action's specification, templates resolved (see Docs/workflow-format.md).
struct HTTPStepSpec: Sendable {
    var method: String
    var url: String
    var headers: [(name: String, value: String)]
    var body: JSONValue?
    var successStatus: Set<Int>?
    var followRedirects: Bool
    var keepHeaders: [String]

    struct Invalid: Error {
        var message: String
    }

    init(_ spec: JSONValue) throws(Invalid) {
        guard case .object(let fields) = spec else { throw Invalid(message: "http action is not an object") }
        // The kind's rules: the same code checked the spec when its workflow loaded.
        guard let method = fields["method"]?.stringValue, HTTPActionKind.accepts(method: method) else {
            throw Invalid(message: "http action has no valid 'method'")
        }
        guard let url = fields["url"]?.stringValue, HTTPActionKind.accepts(url: url) else {
            throw Invalid(message: "http action has no 'url'")
        }
        self.method = method
        var headers: [(name: String, value: String)] = []
        if case .object(let given) = fields["headers"] ?? .null {
            for (name, value) in given.sorted(by: { $0.key < $1.key }) {
                let text = value.displayString
                // Names only in messages: a header's value may be a secret.
                guard HTTPStepSpec.isToken(name) else { throw Invalid(message: "invalid header name '\(name)'") }
                // Checked by scalar: "\r\n" is one Character, equal to neither "\r" nor "\n".
                guard !HTTPStepSpec.hasControlCharacter(text) else {
                    throw Invalid(message: "the value of header '\(name)' contains a line break or a control character")
                }
                headers.append((name, text))
            }
        }
        self.headers = headers
        var query: [(String, String)] = []
        if case .object(let given) = fields["query"] ?? .null {
            for (name, value) in given.sorted(by: { $0.key < $1.key }) {
                if case .array(let values) = value {
                    for v in values { query.append((name, v.displayString)) }
                } else if value != .null {
                    query.append((name, value.displayString))
                }
            }
        }
        self.url = HTTPStepSpec.appending(query, to: url)
        self.body = fields["body"]
        if let statuses = fields["successStatus"]?.arrayValue {
            successStatus = Set(statuses.compactMap(\.intValue))
        }
        followRedirects = fields["followRedirects"]?.boolValue ?? false
        keepHeaders = fields["keepHeaders"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// A header value may hold visible characters, spaces and tabs: CR, LF, NUL, the other C0 controls and DEL
    /// are refused before anything is sent (the HTTP client would refuse them with the value in its error).
    static func hasControlCharacter(_ s: String) -> Bool {
        s.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { b in
            (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                || "!#$%&'*+-.^_`|~".utf8.contains(b)
        }
    }

    /// RFC 3986 unreserved characters stay; everything else is percent-encoded.
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            if (0x30...0x39).contains(b) || (0x41...0x5A).contains(b) || (0x61...0x7A).contains(b)
                || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
            {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    static func appending(_ query: [(String, String)], to url: String) -> String {
        guard !query.isEmpty else { return url }
        var base = url
        var fragment = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = String(base[hash...])
            base = String(base[..<hash])
        }
        let encoded = query.map { "\(encode($0.0))=\(encode($0.1))" }.joined(separator: "&")
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return base + separator + encoded + fragment
    }
}

/// A URL taken apart: what the executor checks and connects to.
struct HTTPTarget: Sendable, Equatable {
    var scheme: String
    /// Lowercased, without brackets or a trailing dot.
    var host: String
    var port: Int
    /// Path and query, as given (`/` when empty).
    var pathAndQuery: String

    struct Invalid: Error {
        var message: String
    }

    init(_ text: String) throws(Invalid) {
        guard let components = URLComponents(string: text) else { throw Invalid(message: "invalid URL") }
        guard let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw Invalid(message: "only http and https URLs are supported")
        }
        guard var host = components.host?.lowercased(), !host.isEmpty else {
            throw Invalid(message: "the URL has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        guard !host.isEmpty else { throw Invalid(message: "the URL has no host") }
        self.scheme = scheme
        self.host = host
        self.port = components.port ?? (scheme == "https" ? 443 : 80)
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if let query = components.percentEncodedQuery { path += "?" + query }
        self.pathAndQuery = path
    }

    var isDefaultPort: Bool { port == (scheme == "https" ? 443 : 80) }

    /// `host` or `host:port`, bracketed for IPv6: the `Host` header and the breaker's key.
    var authority: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return isDefaultPort ? h : "\(h):\(port)"
    }

    /// The URL without its query or user information: what error messages show.
    var displayURL: String {
        let path = pathAndQuery.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? "/"
        return "\(scheme)://\(authority)\(path)"
    }

    func sameOrigin(as other: HTTPTarget) -> Bool {
        scheme == other.scheme && host == other.host && port == other.port
    }
}
