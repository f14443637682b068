public import Logging

/// A log handler that redacts secrets (see `SecretRedactor`) from every message, metadata value and error before
/// passing the event on. The engine wraps the logger of every attempt that read a secret with it.
public struct RedactingLogHandler: LogHandler {
    public var wrapped: any LogHandler
    public let redactor: SecretRedactor

    public init(wrapping handler: any LogHandler, redactor: SecretRedactor) {
        self.wrapped = handler
        self.redactor = redactor
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = redact(newValue) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map(redact) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: redactor.redact(event.message.description))
        event.metadata = event.metadata.map(redact)
        if let error = event.error {
            // An error cannot be rewritten: it is logged as its redacted description.
            event.error = nil
            var metadata = event.metadata ?? [:]
            metadata["error"] = .string(redactor.redact(String(describing: error)))
            event.metadata = metadata
        }
        wrapped.log(event: event)
    }

    func redact(_ metadata: Logger.Metadata) -> Logger.Metadata {
        Logger.Metadata(metadata.map { (redactor.redact($0.key), redact($0.value)) }, uniquingKeysWith: { a, _ in a })
    }

    func redact(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): .string(redactor.redact(s))
        case .stringConvertible(let c): .string(redactor.redact(c.description))
        case .dictionary(let d): .dictionary(redact(d))
        case .array(let a): .array(a.map(redact))
        @unknown default: .string(redactor.redact("\(value)"))
        }
    }
}
