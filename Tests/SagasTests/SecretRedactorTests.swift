import Foundation
import Logging
import Sagas
import Testing

/// Secrets and every altered form of them are redacted; ordinary data is not (issue 14, items 8 and 9).
@Suite struct SecretRedactorTests {
    static let token = "AbC+dEf/GhI=jKl9mNoPqRsT"
    static let redactor = SecretRedactor(secrets: [token])

    /// No run of 8 or more characters of the secret is left.
    static func leaks(_ text: String, _ secret: String = token) -> Bool {
        let chars = Array(secret)
        for start in 0...(chars.count - 8) where text.contains(String(chars[start..<(start + 8)])) { return true }
        return false
    }

    @Test func theSecretAndItsEncodedFormsAreRedacted() throws {
        let t = Self.token
        let percentUpper = Template.percentEncoded(t)
        #expect(percentUpper == "AbC%2BdEf%2FGhI%3DjKl9mNoPqRsT")
        let forms = [
            "token=\(t)",
            "token=\(percentUpper)&x=1",
            "GET http://shop/tokens/AbC%2bdEf%2fGhI%3djKl9mNoPqRsT: 404",
            "form AbC%2BdEf%2FGhI%3DjKl9mNoPqRsT",
            #"{"token":"AbC+dEf\/GhI=jKl9mNoPqRsT"}"#,
            #"{"token":"AbC\u002bdEf\u002FGhI\u003djKl9mNoPqRsT"}"#,
            "base64 " + Data(t.utf8).base64EncodedString(),
            "base64 " + Data("x\(t)".utf8).base64EncodedString(),
            "base64 " + Data("xy\(t)yz".utf8).base64EncodedString(),
            "url-safe " + Data("xy\(t)".utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: ""),
            "percent inside JSON " + #"{"u":"a=AbC%2BdEf%2FGhI%3DjKl9mNoPqRsT"}"#,
        ]
        for form in forms {
            let redacted = Self.redactor.redact(form)
            #expect(redacted.contains("***"), "\(form)")
            #expect(!Self.leaks(redacted), "\(form) -> \(redacted)")
            // A decoded reading of the result holds no piece either.
            #expect(!Self.leaks(redacted.removingPercentEncoding ?? redacted), "\(form) -> \(redacted)")
        }
    }

    @Test func aCutOrLineSplitSecretIsRedacted() {
        let t = Self.token
        // The 200-character snippet cut it: what is left before the cut.
        let snippet = String(repeating: "x", count: 190) + String(t.prefix(10)) + "…"
        let cut = Self.redactor.redact(snippet)
        #expect(!cut.contains(String(t.prefix(5))), "\(cut)")
        #expect(cut.hasSuffix("***…"))
        // Only its first 5 characters survived the cut.
        #expect(Self.redactor.redact("error: " + String(t.prefix(5)) + "…") == "error: ***…")
        // The end of a secret at the start of a tail.
        #expect(!Self.leaks(Self.redactor.redact("exit 1: " + String(t.suffix(12)))))

        // A PEM key printed to stderr, one line at a time, and then joined by the command executor.
        let body = (0..<6).map { _ in String((0..<64).map { _ in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".randomElement()! }) }
        let pem = (["-----BEGIN PRIVATE KEY-----"] + body + ["-----END PRIVATE KEY-----"]).joined(separator: "\n")
        let pemRedactor = SecretRedactor(secrets: [pem])
        let joined = pem.split(separator: "\n").suffix(5).joined(separator: " | ")
        let redacted = pemRedactor.redact("exit 1: " + joined)
        for line in body { #expect(!Self.leaks(redacted, line), "\(redacted)") }
        // Wrapped at other widths, too.
        let wrapped = stride(from: 0, to: body[0].count, by: 20).map { i in
            String(Array(body[0])[i..<min(i + 20, body[0].count)])
        }.joined(separator: "\n")
        #expect(!Self.leaks(pemRedactor.redact(wrapped), body[0]))
        // A last line too short to be recognised alone goes with the line before it.
        let shortEnd = SecretRedactor(secrets: [pem + "\nAB=="])
        #expect(shortEnd.redact("exit 1: \(body[5]) | AB==") == "exit 1: *** | ***")
        #expect(shortEnd.redact(JSONValue.string("\(body[5])\nAB==").jsonString) == #""***""#)
        #expect(shortEnd.redact("AB== alone") == "AB== alone")
        // The same key JSON-escaped in an output.
        #expect(!Self.leaks(pemRedactor.redact(JSONValue.string(pem).jsonString), body[1]))
    }

    @Test func shortValuesAreNotSecretsAndOrdinaryDataIsKept() {
        let r = SecretRedactor(secrets: ["acme", "eu-west", Self.token])
        #expect(r.secrets == [Self.token])
        #expect(r.redact("acme-17 in eu-west") == "acme-17 in eu-west")
        #expect(r.redact(JSONValue.object(["id": "acme-17", "n": 12345678901234])) == ["id": "acme-17", "n": 12345678901234])
        #expect(SecretRedactor(secrets: []).redact("anything") == "anything")
        // Multi-byte characters next to a secret stay whole.
        #expect(r.redact("é\(Self.token)é") == "é***é")
    }

    /// A secret that shares a few characters with ordinary data (a webhook URL and any other URL) does not rewrite
    /// that data; pieces of it long enough, or explained by a cut, still go.
    @Test func aStructuredSecretLeavesDataThatSharesAFewCharacters() {
        let hook = "https://hooks.example.com/services/T0001/B0002/XyZ123abc"
        let r = SecretRedactor(secrets: [hook, "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"])
        #expect(r.redact(#"{"self": "https://api.example.com/orders/1", "next": "https://hooks.other.org/x"}"#)
            == #"{"self": "https://api.example.com/orders/1", "next": "https://hooks.other.org/x"}"#)
        #expect(r.redact("-----BEGIN CERTIFICATE-----") == "-----BEGIN CERTIFICATE-----")
        #expect(r.redact("posted to \(hook)") == "posted to ***")
        #expect(r.redact("posted to https://hooks.example.com/serv…") == "posted to ***…")
        #expect(r.redact("posted to https://hooks.example.com/services/T0001/B0002 and more") == "posted to *** and more")
    }

    @Test func valuesKeysAndNumbersAreRedacted() {
        let r = SecretRedactor(secrets: ["12345678901234567890", Self.token])
        let value = try! JSONValue(parsing: #"{"n": 12345678901234567890, "AbC+dEf/GhI=jKl9mNoPqRsT": [1, "x AbC+dEf/GhI=jKl9mNoPqRsT"]}"#)
        #expect(r.redact(value) == ["n": "***", "***": [1, "x ***"]])
    }

    @Test func logsAreRedacted() {
        let captured = CapturedLogs()
        let handler = RedactingLogHandler(wrapping: captured.handler(), redactor: Self.redactor)
        var logger = Logger(label: "t", factory: { _ in handler })
        logger[metadataKey: "set.early"] = .string("AbC%2BdEf%2FGhI%3DjKl9mNoPqRsT")
        logger.warning("echo \(Self.token)", metadata: ["m": .string("x \(Self.token)"), "n": .array([.string(Self.token)])])
        let text = captured.lines.joined(separator: "\n")
        #expect(text.contains("echo ***"))
        #expect(!Self.leaks(text) && !Self.leaks(text.removingPercentEncoding ?? text), "\(text)")
    }
}

/// Collects what a logger writes.
final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    var lines: [String] { lock.withLock { stored } }

    func append(_ line: String) { lock.withLock { stored.append(line) } }

    func handler() -> any LogHandler { Handler(sink: self) }

    struct Handler: LogHandler {
        let sink: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:]) { $1 }
            let meta = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            sink.append("\(event.level) \(event.message) \(meta)")
        }
    }
}
