import Foundation
import Logging
import Sagas
import Synchronization

/// `--log-format json`: one JSON object per line on standard error, for log shippers:
/// `{"time": "2026-12-01T10:00:00.123Z", "level": "info", "message": "...", "label": "saga", "saga.id": "...", ...}`.
/// Metadata keys become top-level members (`saga.id`, `saga.step`, `saga.phase`, `saga.attempt`, `error`, ...);
/// one that would replace `time`, `level`, `message` or `label` is written as `metadata.KEY`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    private static let output = Mutex(FileHandle.standardError)
    private static let reserved: Set<String> = ["time", "level", "message", "label"]

    init(label: String, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: JSONValue] = [
            "time": .string(SagaTime.format(Date())),
            "level": .string(event.level.rawValue),
            "message": .string(event.message.description),
            "label": .string(label),
        ]
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        for (key, value) in merged {
            object[Self.reserved.contains(key) ? "metadata." + key : key] = Self.json(value)
        }
        let line = JSONValue.object(object).jsonString + "\n"
        Self.output.withLock { $0.write(Data(line.utf8)) }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): .string(s)
        case .stringConvertible(let c): .string(c.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let d): .object(d.mapValues(json))
        }
    }
}
