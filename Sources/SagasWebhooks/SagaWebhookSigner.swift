import Crypto
public import Foundation
public import Sagas

/// Signs webhook deliveries as the Standard Webhooks specification says.
///
/// The signed content is `webhook-id`, `.`, `webhook-timestamp`, `.`, body; each signature is `v1,` and the base64
/// of its HMAC-SHA256 under the bytes of a secret (`whsec_` + base64). Several secrets give several signatures,
/// separated by spaces, so a receiver can rotate its secret without a gap.
public enum SagaWebhookSigner {
    /// The `webhook-signature` header for `body`.
    ///
    /// - Throws: `.invalidArgument` for a secret that is not `whsec_` + base64 (never echoed).
    public static func signature(id: String, timestamp: Int64, body: String, secrets: [String]) throws -> String {
        let content = Data("\(id).\(timestamp).\(body)".utf8)
        return try secrets.map { secret in
            let key = SymmetricKey(data: try SagaWebhookSubscription.secretBytes(secret))
            let mac = HMAC<SHA256>.authenticationCode(for: content, using: key)
            return "v1," + Data(mac).base64EncodedString()
        }.joined(separator: " ")
    }

    /// Whether `header` holds a valid `v1` signature of `body` under `secret` (what a receiver does; tests use it).
    public static func verify(id: String, timestamp: Int64, body: String, header: String, secret: String) -> Bool {
        guard let expected = try? signature(id: id, timestamp: timestamp, body: body, secrets: [secret]) else {
            return false
        }
        return header.split(separator: " ").contains { Substring(expected) == $0 }
    }
}
