import Foundation

/// The address checks of `http` steps, for other callers that send requests on a user's behalf (webhook
/// deliveries): the allow-list, and no link-local or cloud metadata address, numeric or resolved.
public enum HTTPAddressGuard {
    /// Why a host was refused, or could not be checked.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
        /// Whether trying again later may succeed (a name that did not resolve), as opposed to a refusal.
        public var isRetryable: Bool
    }

    /// Checks `host` and returns the addresses it may be reached at.
    ///
    /// - Parameters:
    ///   - allowedHosts: When set, the host must match one entry (`*.example.com` matches subdomains).
    ///   - allowMetadataAddresses: Lets link-local and metadata addresses through (tests only).
    /// - Throws: ``Refusal``.
    public static func check(
        host: String,
        allowedHosts: [String]?,
        allowMetadataAddresses: Bool = false,
        resolver: HTTPHostResolver = .system
    ) async throws -> [HTTPAddress] {
        let name = host.lowercased()
        if let allowedHosts, !HTTPExecutor.isAllowed(name, by: allowedHosts) {
            throw Refusal(description: "host \(name) is not in the allowed hosts", isRetryable: false)
        }
        let trimmed = name.hasPrefix("[") && name.hasSuffix("]") ? String(name.dropFirst().dropLast()) : name
        if let numeric = HTTPAddress(numeric: trimmed) {
            if !allowMetadataAddresses && numeric.isLinkLocalOrMetadata {
                throw Refusal(description: "refused: \(name) is the link-local or metadata address \(numeric)", isRetryable: false)
            }
            return [numeric]
        }
        let addresses: [HTTPAddress]
        do {
            addresses = try await resolver.resolve(trimmed)
        } catch {
            throw Refusal(description: "\(error)", isRetryable: true)
        }
        if addresses.isEmpty {
            throw Refusal(description: "\(name) has no address", isRetryable: true)
        }
        if !allowMetadataAddresses, let bad = addresses.first(where: \.isLinkLocalOrMetadata) {
            throw Refusal(
                description: "refused: \(name) resolves to the link-local or metadata address \(bad)",
                isRetryable: false
            )
        }
        return addresses
    }
}
