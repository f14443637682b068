import AsyncHTTPClient
import Foundation
import NIOCore
import SagasHTTP
import Synchronization

/// The HTTP clients of one run of the delivery service: connections go to the address the guard checked.
///
/// An `http` request is sent to the checked address itself with the subscription's `Host` header; an `https`
/// request to a host name goes through a client whose DNS is overridden to that address (so the certificate is
/// still checked for the name). Redirects are never followed: a 3xx is a failed attempt.
final class SagaWebhookClients: Sendable {
    private let plain: HTTPClient
    private let pinned = Mutex<[String: HTTPClient]>([:])

    init() {
        plain = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.configuration(dnsOverride: [:]))
    }

    static func configuration(dnsOverride: [String: String]) -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration()
        c.redirectConfiguration = .disallow
        c.connectionPool.retryConnectionEstablishment = false
        c.dnsOverride = dnsOverride
        return c
    }

    /// The client and the request URL for `url`, connecting to `address`; `host` is the `Host` header to send
    /// (`nil`: the URL's own).
    func route(url: URL, address: HTTPAddress) -> (client: HTTPClient, url: String, host: String?)? {
        guard let scheme = url.scheme?.lowercased(), let host = url.host else { return nil }
        let authority = url.port.map { "\(host):\($0)" } ?? host
        var path = url.path.isEmpty ? "/" : url.path
        if let query = url.query { path += "?" + query }
        if scheme == "https" && HTTPAddress(numeric: host) == nil {
            let key = "\(host)|\(address)"
            let client = pinned.withLock { clients in
                if let existing = clients[key] { return existing }
                let made = HTTPClient(
                    eventLoopGroupProvider: .singleton,
                    configuration: Self.configuration(dnsOverride: [host: address.description])
                )
                clients[key] = made
                return made
            }
            return (client, "https://\(authority)\(path)", nil)
        }
        let ip = address.isIPv6 ? "[\(address.description)]" : address.description
        let port = url.port.map { ":\($0)" } ?? ""
        return (plain, "\(scheme)://\(ip)\(port)\(path)", authority)
    }

    func shutdown() async {
        try? await plain.shutdown()
        let all = pinned.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for client in all { try? await client.shutdown() }
    }
}
