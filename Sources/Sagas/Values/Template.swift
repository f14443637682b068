/// Templates in workflow strings: `${input.a.b}`, `${steps.NAME.output.path}`, `${steps.NAME.key}`, `${step.key}`,
/// `${saga.id}`, `${saga.workflow}`, `${env.NAME}`, `${config.NAME}`, with defaults (`${input.note ?? ""}`,
/// `${steps.pay.output.id ?? steps.pay.key}`) and, in an http `url`, `raw:` (`${raw:input.base}`).
///
/// A string that is exactly one template takes the JSON value it names, type and all; otherwise each template is
/// replaced by its value as text. Templates substitute data only: there are no expressions, and a substituted value
/// is never read as a template again. `$${` writes a literal `${`. See Docs/workflow-format.md.
public enum Template {
    /// What a template names.
    public enum Reference: Sendable, Hashable, CustomStringConvertible {
        /// `${input.PATH}` (an empty path names the whole input).
        case input(path: [String])
        /// `${steps.NAME.output.PATH}`.
        case stepOutput(step: String, path: [String])
        /// `${steps.NAME.key}`: the idempotency key of step NAME's action, `SAGA/NAME/action`. Always known.
        case stepKey(step: String)
        /// `${step.key}`: the idempotency key of the attempt running (`SAGA/STEP/PHASE`). Always known.
        case currentKey
        /// `${step.token}`: the callback token of the attempt running, in the action of a step with `await`. A
        /// credential: it is redacted like a secret from everything journaled or logged.
        case currentToken
        /// `${saga.id}`.
        case sagaID
        /// `${saga.workflow}`.
        case sagaWorkflow
        /// `${env.NAME}`: the engine's environment. A value of at least `SecretRedactor.minimumLength` characters
        /// is a secret: it is never journaled or logged, in any form.
        case environment(String)
        /// `${config.NAME}`: the engine's environment too, but not a secret (a tenant, a region, a base URL): never
        /// redacted.
        case configuration(String)

        public var description: String {
            switch self {
            case .input(let path): (["input"] + path).joined(separator: ".")
            case .stepOutput(let step, let path): (["steps", step, "output"] + path).joined(separator: ".")
            case .stepKey(let step): "steps.\(step).key"
            case .currentKey: "step.key"
            case .currentToken: "step.token"
            case .sagaID: "saga.id"
            case .sagaWorkflow: "saga.workflow"
            case .environment(let name): "env.\(name)"
            case .configuration(let name): "config.\(name)"
            }
        }

        /// A value that is always there: a key, the saga's id or workflow.
        public var isAlwaysKnown: Bool {
            switch self {
            case .stepKey, .currentKey, .currentToken, .sagaID, .sagaWorkflow: true
            default: false
            }
        }
    }

    /// One `${…}`: a reference, the references tried when it is missing or null, and a literal default.
    public struct Placeholder: Sendable, Hashable, CustomStringConvertible {
        public var reference: Reference
        /// Tried in order when the value before is missing or `null`.
        public var fallbacks: [Reference]
        /// The value when every reference is missing or `null` (a JSON literal after the last `??`).
        public var defaultValue: JSONValue?
        /// `raw:`: in an http `url`, inserted without percent-encoding.
        public var raw: Bool

        public init(reference: Reference, fallbacks: [Reference] = [], defaultValue: JSONValue? = nil, raw: Bool = false) {
            self.reference = reference
            self.fallbacks = fallbacks
            self.defaultValue = defaultValue
            self.raw = raw
        }

        /// Every reference, the first one first.
        public var references: [Reference] { [reference] + fallbacks }

        /// Whether the template gives a value whatever is missing: it ends in a literal default or in a reference
        /// that is always known.
        public var alwaysResolves: Bool { defaultValue != nil || references.last?.isAlwaysKnown == true }

        /// Whether a missing first value is handled (`??`).
        public var hasDefault: Bool { defaultValue != nil || !fallbacks.isEmpty }

        public var description: String {
            var parts = references.map(\.description)
            if let defaultValue { parts.append(defaultValue.jsonString) }
            return "${" + (raw ? "raw:" : "") + parts.joined(separator: " ?? ") + "}"
        }
    }

    /// A piece of a parsed string: literal text or a template.
    public enum Segment: Sendable, Hashable {
        case text(String)
        case template(Placeholder)
    }

    /// A problem in a template, with the offset (in characters from the string's start) where it starts.
    public struct SyntaxError: Error, Sendable, Hashable {
        public var message: String
        public var offset: Int
    }

    /// Splits a string into literal text and templates.
    public static func parse(_ string: String) throws(SyntaxError) -> [Segment] {
        guard string.contains("$") else { return [.text(string)] }
        var segments: [Segment] = []
        var text = ""
        let chars = Array(string)
        var i = 0
        while i < chars.count {
            if chars[i] == "$" {
                if i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" {
                    text += "${"
                    i += 3
                    continue
                }
                if i + 1 < chars.count, chars[i + 1] == "{" {
                    let close = try closingBrace(chars, from: i + 2, offset: i)
                    let placeholder = try parsePlaceholder(String(chars[(i + 2)..<close]), offset: i)
                    if !text.isEmpty { segments.append(.text(text)); text = "" }
                    segments.append(.template(placeholder))
                    i = close + 1
                    continue
                }
            }
            text.append(chars[i])
            i += 1
        }
        if !text.isEmpty || segments.isEmpty { segments.append(.text(text)) }
        return segments
    }

    /// The `}` that closes a template, skipping quoted default literals (which may contain `}`).
    private static func closingBrace(_ chars: [Character], from start: Int, offset: Int) throws(SyntaxError) -> Int {
        var j = start
        while j < chars.count {
            switch chars[j] {
            case "}":
                return j
            case "\"", "'":
                let quote = chars[j]
                j += 1
                while j < chars.count, chars[j] != quote {
                    if quote == "\"", chars[j] == "\\" { j += 1 }
                    j += 1
                }
                guard j < chars.count else {
                    throw SyntaxError(message: "a quoted default in a template is not closed", offset: offset)
                }
            default:
                break
            }
            j += 1
        }
        throw SyntaxError(message: "'${' is not closed by '}'", offset: offset)
    }

    static func parsePlaceholder(_ rawBody: String, offset: Int) throws(SyntaxError) -> Placeholder {
        var body = rawBody.trimmingSpaces()
        if body.isEmpty { throw SyntaxError(message: "empty template '${}'", offset: offset) }
        if body.contains("${") { throw SyntaxError(message: "templates cannot be nested", offset: offset) }
        var raw = false
        if body.hasPrefix("raw:") {
            raw = true
            body = String(body.dropFirst(4)).trimmingSpaces()
        }
        let alternatives = splitAlternatives(body)
        var references: [Reference] = []
        var defaultValue: JSONValue?
        for (n, alternative) in alternatives.enumerated() {
            let text = alternative.trimmingSpaces()
            if text.isEmpty {
                throw SyntaxError(message: "template '${\(rawBody)}' has an empty alternative around '??'", offset: offset)
            }
            if let literal = try literal(text, in: rawBody, offset: offset) {
                guard n > 0 else {
                    throw SyntaxError(
                        message: "template '${\(rawBody)}' starts with a literal: a template names a value first",
                        offset: offset)
                }
                guard n == alternatives.count - 1 else {
                    throw SyntaxError(
                        message: "template '${\(rawBody)}': a literal default must come last", offset: offset)
                }
                defaultValue = literal
            } else {
                references.append(try parseReference(text, offset: offset))
            }
        }
        return Placeholder(reference: references[0], fallbacks: Array(references.dropFirst()), defaultValue: defaultValue, raw: raw)
    }

    /// Splits at `??` outside quotes.
    private static func splitAlternatives(_ body: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var quote: Character?
        var escaped = false
        let chars = Array(body)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if let q = quote {
                current.append(c)
                if escaped { escaped = false } else if q == "\"" && c == "\\" { escaped = true } else if c == q { quote = nil }
            } else if c == "\"" || c == "'" {
                quote = c
                current.append(c)
            } else if c == "?", i + 1 < chars.count, chars[i + 1] == "?" {
                parts.append(current)
                current = ""
                i += 2
                continue
            } else {
                current.append(c)
            }
            i += 1
        }
        parts.append(current)
        return parts
    }

    /// A literal default: a JSON string, `'text'`, a number, `true`, `false` or `null`; `nil` when `text` is a path.
    private static func literal(_ text: String, in body: String, offset: Int) throws(SyntaxError) -> JSONValue? {
        guard let first = text.first else { return nil }
        if first == "'" {
            guard text.count >= 2, text.last == "'", !text.dropFirst().dropLast().contains("'") else {
                throw SyntaxError(message: "template '${\(body)}' has a malformed quoted default", offset: offset)
            }
            return .string(String(text.dropFirst().dropLast()))
        }
        if first == "\"" || first == "-" || first.isASCII && first.isNumber || ["true", "false", "null"].contains(text) {
            do {
                return try JSONValue(parsing: text)
            } catch {
                throw SyntaxError(message: "template '${\(body)}' has a malformed literal default \(text)", offset: offset)
            }
        }
        return nil
    }

    static func parseReference(_ body: String, offset: Int) throws(SyntaxError) -> Reference {
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.contains(where: \.isEmpty) {
            throw SyntaxError(message: "template '${\(body)}' has an empty path component", offset: offset)
        }
        for part in parts where part.contains(where: { $0 == " " || $0 == "$" || $0 == "{" || $0 == "\"" || $0 == "'" }) {
            throw SyntaxError(message: "template '${\(body)}' is not a path: templates only name values", offset: offset)
        }
        switch parts[0] {
        case "input":
            return .input(path: Array(parts.dropFirst()))
        case "steps":
            if parts.count == 3, parts[2] == "key" { return .stepKey(step: parts[1]) }
            guard parts.count >= 3, parts[2] == "output" else {
                throw SyntaxError(
                    message: "template '${\(body)}' must have the form ${steps.NAME.output...} or ${steps.NAME.key}",
                    offset: offset)
            }
            return .stepOutput(step: parts[1], path: Array(parts.dropFirst(3)))
        case "step":
            guard parts.count == 2, parts[1] == "key" || parts[1] == "token" else {
                throw SyntaxError(message: "template '${\(body)}': the step root has 'key' and 'token'", offset: offset)
            }
            return parts[1] == "key" ? .currentKey : .currentToken
        case "saga":
            guard parts.count == 2, parts[1] == "id" || parts[1] == "workflow" else {
                throw SyntaxError(message: "template '${\(body)}': the saga root has 'id' and 'workflow'", offset: offset)
            }
            return parts[1] == "id" ? .sagaID : .sagaWorkflow
        case "env", "config":
            guard parts.count == 2 else {
                throw SyntaxError(message: "template '${\(body)}' must have the form ${\(parts[0]).NAME}", offset: offset)
            }
            return parts[0] == "env" ? .environment(parts[1]) : .configuration(parts[1])
        default:
            throw SyntaxError(
                message: "template '${\(body)}' has unknown root '\(parts[0])' (expected input, steps, step, saga, env or config)",
                offset: offset
            )
        }
    }

    /// Every template in a JSON value's strings (object keys are not templated).
    public static func placeholders(in value: JSONValue) throws(SyntaxError) -> [Placeholder] {
        var result: [Placeholder] = []
        try collect(value, into: &result)
        return result
    }

    /// Every reference in a JSON value's strings, defaults' references included.
    public static func references(in value: JSONValue) throws(SyntaxError) -> [Reference] {
        try placeholders(in: value).flatMap(\.references)
    }

    private static func collect(_ value: JSONValue, into result: inout [Placeholder]) throws(SyntaxError) {
        switch value {
        case .string(let s):
            for case .template(let p) in try parse(s) { result.append(p) }
        case .array(let a):
            for v in a { try collect(v, into: &result) }
        case .object(let o):
            for v in o.values { try collect(v, into: &result) }
        default:
            break
        }
    }

    /// What templates resolve against.
    public struct Context: Sendable {
        public var input: JSONValue
        /// Outputs of the steps that have succeeded, by step name.
        public var outputs: [String: JSONValue]
        public var sagaID: String
        public var workflow: String
        public var environment: [String: String]
        /// The step and phase of the attempt (for `${step.key}`).
        public var step: String?
        public var phase: StepPhase?
        /// The attempt's callback token (for `${step.token}`), in a step with `await`.
        public var token: String?

        public init(
            input: JSONValue,
            outputs: [String: JSONValue],
            sagaID: String,
            workflow: String,
            environment: [String: String],
            step: String? = nil,
            phase: StepPhase? = nil,
            token: String? = nil
        ) {
            self.token = token
            self.input = input
            self.outputs = outputs
            self.sagaID = sagaID
            self.workflow = workflow
            self.environment = environment
            self.step = step
            self.phase = phase
        }
    }

    /// A resolved value, and the secret strings (from `${env.…}`) it contains, which must never be journaled.
    public struct Resolution: Sendable {
        public var value: JSONValue
        public var secrets: [String]
    }

    /// Resolves every template in `value`.
    ///
    /// - Throws: `SagaError` with code `.templateError` when a template is malformed or names a missing value.
    public static func resolve(_ value: JSONValue, in context: Context) throws(SagaError) -> Resolution {
        var secrets: [String] = []
        let resolved = try resolve(value, in: context, secrets: &secrets)
        return Resolution(value: resolved, secrets: secrets)
    }

    static func resolve(
        _ value: JSONValue,
        in context: Context,
        secrets: inout [String]
    ) throws(SagaError) -> JSONValue {
        switch value {
        case .string(let s):
            let segments = try segments(of: s)
            if segments.count == 1, case .template(let p) = segments[0] {
                return try lookup(p, in: context, secrets: &secrets)
            }
            var out = ""
            for segment in segments {
                switch segment {
                case .text(let t): out += t
                case .template(let p): out += try lookup(p, in: context, secrets: &secrets).displayString
                }
            }
            return .string(out)
        case .array(let a):
            var out: [JSONValue] = []
            out.reserveCapacity(a.count)
            for v in a { out.append(try resolve(v, in: context, secrets: &secrets)) }
            return .array(out)
        case .object(let o):
            var out: [String: JSONValue] = [:]
            for (k, v) in o { out[k] = try resolve(v, in: context, secrets: &secrets) }
            return .object(out)
        default:
            return value
        }
    }

    static func segments(of s: String) throws(SagaError) -> [Segment] {
        do { return try parse(s) } catch {
            throw SagaError(.templateError, "invalid template in \"\(s)\": \(error.message)")
        }
    }

    /// The placeholder's value: its first reference that is present and not `null`, else its default; without a
    /// default, the first reference's value (`null` included) or its error.
    static func lookup(
        _ placeholder: Placeholder,
        in context: Context,
        secrets: inout [String]
    ) throws(SagaError) -> JSONValue {
        if !placeholder.hasDefault {
            return try lookup(placeholder.reference, in: context, secrets: &secrets)
        }
        for reference in placeholder.references {
            if let value = try? lookup(reference, in: context, secrets: &secrets), value != .null { return value }
        }
        if let value = placeholder.defaultValue { return value }
        // Every reference is missing or null: the last one's value (null), or the first one's error.
        if let value = try? lookup(placeholder.references.last!, in: context, secrets: &secrets) { return value }
        return try lookup(placeholder.reference, in: context, secrets: &secrets)
    }

    private static func lookup(
        _ reference: Reference,
        in context: Context,
        secrets: inout [String]
    ) throws(SagaError) -> JSONValue {
        switch reference {
        case .input(let path):
            guard let v = context.input.value(at: path) else {
                throw SagaError(.templateError, "template ${\(reference)} names a missing value", sagaID: context.sagaID)
            }
            return v
        case .stepOutput(let step, let path):
            guard let output = context.outputs[step] else {
                throw SagaError(
                    .templateError,
                    "template ${\(reference)}: step '\(step)' has no output yet",
                    sagaID: context.sagaID
                )
            }
            guard let v = output.value(at: path) else {
                throw SagaError(.templateError, "template ${\(reference)} names a missing value", sagaID: context.sagaID)
            }
            return v
        case .stepKey(let step):
            return .string(SagaStateMachine.idempotencyKey(sagaID: context.sagaID, step: step, phase: .action))
        case .currentKey:
            guard let step = context.step else {
                throw SagaError(.templateError, "template ${step.key} is used outside an attempt", sagaID: context.sagaID)
            }
            return .string(SagaStateMachine.idempotencyKey(sagaID: context.sagaID, step: step, phase: context.phase ?? .action))
        case .currentToken:
            guard let token = context.token else {
                throw SagaError(
                    .templateError,
                    "template ${step.token} is used outside the action of a step with 'await'",
                    sagaID: context.sagaID,
                    step: context.step
                )
            }
            // A credential: whatever echoes it back (an output, an error) is journaled with it redacted.
            secrets.append(token)
            return .string(token)
        case .sagaID:
            return .string(context.sagaID)
        case .sagaWorkflow:
            return .string(context.workflow)
        case .environment(let name), .configuration(let name):
            guard let v = context.environment[name] else {
                throw SagaError(
                    .templateError,
                    "template ${\(reference)}: environment variable \(name) is not set",
                    sagaID: context.sagaID
                )
            }
            if case .environment = reference, v.count >= SecretRedactor.minimumLength { secrets.append(v) }
            return .string(v)
        }
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
