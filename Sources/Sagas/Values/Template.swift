/// Templates in workflow strings: `${input.a.b}`, `${steps.NAME.output.path}`, `${saga.id}`, `${saga.workflow}`,
/// `${env.NAME}`.
///
/// A string that is exactly one template takes the JSON value it names, type and all; otherwise each template is
/// replaced by its value as text. Templates substitute data only: there are no expressions, and a substituted value
/// is never read as a template again. `$${` writes a literal `${`.
public enum Template {
    /// What a template names.
    public enum Reference: Sendable, Hashable, CustomStringConvertible {
        /// `${input.PATH}` (an empty path names the whole input).
        case input(path: [String])
        /// `${steps.NAME.output.PATH}`.
        case stepOutput(step: String, path: [String])
        /// `${saga.id}`.
        case sagaID
        /// `${saga.workflow}`.
        case sagaWorkflow
        /// `${env.NAME}`: the engine's environment. Such values are secrets and are never journaled.
        case environment(String)

        public var description: String {
            switch self {
            case .input(let path): (["input"] + path).joined(separator: ".")
            case .stepOutput(let step, let path): (["steps", step, "output"] + path).joined(separator: ".")
            case .sagaID: "saga.id"
            case .sagaWorkflow: "saga.workflow"
            case .environment(let name): "env.\(name)"
            }
        }
    }

    /// A piece of a parsed string: literal text or a template.
    public enum Segment: Sendable, Hashable {
        case text(String)
        case reference(Reference)
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
            if chars[i] == "$", i + 2 < chars.count || i + 1 < chars.count {
                if i + 2 < chars.count, chars[i + 1] == "$", chars[i + 2] == "{" {
                    text += "${"
                    i += 3
                    continue
                }
                if i + 1 < chars.count, chars[i + 1] == "{" {
                    guard let close = chars[(i + 2)...].firstIndex(of: "}") else {
                        throw SyntaxError(message: "'${' is not closed by '}'", offset: i)
                    }
                    let body = String(chars[(i + 2)..<close]).trimmingSpaces()
                    let reference = try parseReference(body, offset: i)
                    if !text.isEmpty { segments.append(.text(text)); text = "" }
                    segments.append(.reference(reference))
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

    static func parseReference(_ body: String, offset: Int) throws(SyntaxError) -> Reference {
        if body.isEmpty { throw SyntaxError(message: "empty template '${}'", offset: offset) }
        if body.contains("${") { throw SyntaxError(message: "templates cannot be nested", offset: offset) }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.contains(where: \.isEmpty) {
            throw SyntaxError(message: "template '${\(body)}' has an empty path component", offset: offset)
        }
        for part in parts where part.contains(where: { $0 == " " || $0 == "$" || $0 == "{" }) {
            throw SyntaxError(message: "template '${\(body)}' is not a path: templates only name values", offset: offset)
        }
        switch parts[0] {
        case "input":
            return .input(path: Array(parts.dropFirst()))
        case "steps":
            guard parts.count >= 3, parts[2] == "output" else {
                throw SyntaxError(message: "template '${\(body)}' must have the form ${steps.NAME.output...}", offset: offset)
            }
            return .stepOutput(step: parts[1], path: Array(parts.dropFirst(3)))
        case "saga":
            guard parts.count == 2, parts[1] == "id" || parts[1] == "workflow" else {
                throw SyntaxError(message: "template '${\(body)}': the saga root has 'id' and 'workflow'", offset: offset)
            }
            return parts[1] == "id" ? .sagaID : .sagaWorkflow
        case "env":
            guard parts.count == 2 else {
                throw SyntaxError(message: "template '${\(body)}' must have the form ${env.NAME}", offset: offset)
            }
            return .environment(parts[1])
        default:
            throw SyntaxError(
                message: "template '${\(body)}' has unknown root '\(parts[0])' (expected input, steps, saga or env)",
                offset: offset
            )
        }
    }

    /// Every template reference in a JSON value's strings (object keys are not templated).
    public static func references(in value: JSONValue) throws(SyntaxError) -> [Reference] {
        var result: [Reference] = []
        try collect(value, into: &result)
        return result
    }

    private static func collect(_ value: JSONValue, into result: inout [Reference]) throws(SyntaxError) {
        switch value {
        case .string(let s):
            for case .reference(let r) in try parse(s) { result.append(r) }
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

        public init(
            input: JSONValue,
            outputs: [String: JSONValue],
            sagaID: String,
            workflow: String,
            environment: [String: String]
        ) {
            self.input = input
            self.outputs = outputs
            self.sagaID = sagaID
            self.workflow = workflow
            self.environment = environment
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

    private static func resolve(
        _ value: JSONValue,
        in context: Context,
        secrets: inout [String]
    ) throws(SagaError) -> JSONValue {
        switch value {
        case .string(let s):
            let segments: [Segment]
            do { segments = try parse(s) } catch {
                throw SagaError(.templateError, "invalid template in \"\(s)\": \(error.message)")
            }
            if segments.count == 1, case .reference(let r) = segments[0] {
                return try lookup(r, in: context, secrets: &secrets)
            }
            var out = ""
            for segment in segments {
                switch segment {
                case .text(let t): out += t
                case .reference(let r): out += try lookup(r, in: context, secrets: &secrets).displayString
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
        case .sagaID:
            return .string(context.sagaID)
        case .sagaWorkflow:
            return .string(context.workflow)
        case .environment(let name):
            guard let v = context.environment[name] else {
                throw SagaError(
                    .templateError,
                    "template ${\(reference)}: environment variable \(name) is not set",
                    sagaID: context.sagaID
                )
            }
            if !v.isEmpty { secrets.append(v) }
            return .string(v)
        }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
