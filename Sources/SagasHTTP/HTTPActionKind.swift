public import Logging
public import Sagas

/// The `http` action kind: the rules of its spec, used both when a workflow loads and when the executor reads a
/// resolved spec (one rule set), and the executor that runs it.
///
/// ```swift
/// let http = HTTPExecutor(configuration: .init(allowedHosts: ["api.example.com"]), logger: logger)
/// engine.register(kind: HTTPActionKind(executor: http))
/// let catalog = WorkflowCatalog(directory: "Workflows", kinds: engine.actionKinds)
/// ```
public struct HTTPActionKind: SagaActionKind {
    /// The fields an http spec may have.
    public static let keys = [
        "method", "url", "headers", "query", "body", "successStatus", "followRedirects", "keepHeaders",
    ]
    /// The methods an http action may use.
    public static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]

    /// What runs the kind's actions on an engine it is registered with; `nil` for a kind that only validates.
    public var executor: (any StepExecutor)?

    /// - Parameter executor: an ``HTTPExecutor`` (the caller shuts it down), or `nil` to only validate.
    public init(executor: (any StepExecutor)? = nil) {
        self.executor = executor
    }

    public var name: StepAction.Kind { .http }

    /// Whether `method` is one of ``methods``.
    public static func accepts(method: String) -> Bool { methods.contains(method) }

    /// Whether `url` can name a target (the executor checks its scheme, host and address when it calls it).
    public static func accepts(url: String) -> Bool { !url.isEmpty }

    public func validate(_ spec: JSONNode, in checker: inout SagaActionSpecChecker) {
        guard let m = checker.members(of: spec, allowed: Self.keys) else { return }
        if let method = m["method"] {
            if case .string(let s) = method.value.kind, Self.accepts(method: s) {
            } else {
                let got: String
                if case .string(let s) = method.value.kind { got = "\"\(s)\"" } else {
                    got = method.value.typeName
                }
                checker.error("'method' must be one of \(SagaActionSpecChecker.list(Self.methods)), got \(got)",
                              at: method.value.location)
            }
        } else {
            checker.error("missing required field 'method' in \(checker.subject)", at: spec.location)
        }
        if let url = m["url"] {
            checker.allowRawTemplates(in: url.value)
            if let s = checker.string(url.value, field: "url"), !Self.accepts(url: s) {
                checker.error("'url' must not be empty", at: url.value.location)
            }
        } else {
            checker.error("missing required field 'url' in \(checker.subject)", at: spec.location)
        }
        if let headers = m["headers"] { checker.stringMap(headers.value, field: "headers") }
        if let query = m["query"] { checker.stringMap(query.value, field: "query") }
        if let body = m["body"] { checker.checkDuplicateKeys(in: body.value, field: "body") }
        if let statuses = m["successStatus"] {
            if case .array(let elements) = statuses.value.kind, !elements.isEmpty {
                for element in elements {
                    if case .integer(let code) = element.kind, (100...599).contains(code) { continue }
                    checker.error("'successStatus' must list HTTP status codes from 100 to 599, got "
                                  + element.exactValue.jsonString, at: element.location)
                }
            } else {
                checker.error("'successStatus' must be a non-empty array of status codes, got "
                              + statuses.value.exactValue.jsonString.prefix(40), at: statuses.value.location)
            }
        }
        if let follow = m["followRedirects"] {
            if case .bool = follow.value.kind {} else {
                checker.error("'followRedirects' must be true or false, got \(follow.value.typeName)",
                              at: follow.value.location)
            }
        }
        if let keep = m["keepHeaders"] { _ = checker.stringArray(keep.value, field: "keepHeaders") }
    }

    public func makeExecutor(configuration: SagaEngine.Configuration, logger: Logger) -> (any StepExecutor)? {
        executor
    }
}
