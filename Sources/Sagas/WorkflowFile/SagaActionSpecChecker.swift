/// What a ``SagaActionKind`` checks one action's spec with: it reports problems at their positions, in the
/// wording and with the helpers the rest of the workflow decoder uses.
///
/// A checker is made by the decoder for each action, compensation and probe; a kind never makes one.
public struct SagaActionSpecChecker {
    var decoder: WorkflowDecoder
    /// `action`, `compensation` or `probe`: the step's field that holds the action.
    public let field: String
    /// The step as messages name it: `step 'reserve'`.
    public let step: String
    /// Which phase of the step the action runs in.
    public let phase: StepPhase
    /// The kind's key in the file.
    public let kind: StepAction.Kind
    /// Where raw templates (`${raw:…}`) may be: the location of one string (an http `url`).
    var rawTemplateLocation: SourceLocation?
    /// Set when the spec itself is not an object where a kind needs one: its templates are then not checked.
    var specUnusable = false
    let specLocation: SourceLocation

    init(decoder: WorkflowDecoder, field: String, step: String, phase: StepPhase, kind: StepAction.Kind,
         spec: JSONNode) {
        self.decoder = decoder
        self.field = field
        self.step = step
        self.phase = phase
        self.kind = kind
        self.specLocation = spec.location
    }

    /// The spec as messages name it: `'action.http' of step 'reserve'`.
    public var subject: String { "'\(field).\(kind.rawValue)' of \(step)" }

    /// Reports an error at `location` (the value's for a bad value, the key's for a bad key, the object's for a
    /// missing field).
    public mutating func error(_ message: String, at location: SourceLocation) {
        decoder.error(message, at: location)
    }

    /// Reports a warning at `location`.
    public mutating func warning(_ message: String, at location: SourceLocation) {
        decoder.warning(message, at: location)
    }

    /// The members of an object by key (the first of duplicates), after reporting duplicate keys and keys not in
    /// `allowed` (with a suggestion). Reports a type error and returns `nil` when the node is not an object.
    ///
    /// - Parameter what: how messages name the object; the spec's ``subject`` by default.
    public mutating func members(of node: JSONNode, what: String? = nil, allowed: [String]) -> [String: JSONMember]? {
        let result = decoder.members(of: node, what: what ?? subject, allowed: allowed)
        if result == nil && node.location == specLocation { specUnusable = true }
        return result
    }

    /// The string a node holds, or `nil` after reporting `'FIELD' must be a string`.
    public mutating func string(_ node: JSONNode, field: String) -> String? {
        decoder.string(node, field: field)
    }

    /// The strings of an array with their positions, or `nil` when it is not an array (reported); elements that
    /// are not strings are reported and left out.
    public mutating func stringArray(_ node: JSONNode, field: String) -> [(String, SourceLocation)]? {
        decoder.stringArray(node, field: field)
    }

    /// Reports a node that is not an object whose values are all strings, and its duplicate keys.
    public mutating func stringMap(_ node: JSONNode, field: String) {
        decoder.stringMap(node, field: field)
    }

    /// Reports duplicate keys anywhere inside a free-form value (a body, a stdin, an input).
    public mutating func checkDuplicateKeys(in node: JSONNode, field: String) {
        decoder.checkDuplicateKeys(in: node, field: field)
    }

    /// Lets the templates of one string (an http `url`) be raw (`${raw:…}`): anywhere else they are an error.
    public mutating func allowRawTemplates(in node: JSONNode) {
        rawTemplateLocation = node.location
    }

    /// `'a', 'b' or 'c'`: how messages list the choices a field has.
    public static func list(_ choices: [String]) -> String {
        Suggestion.list(choices)
    }

    /// A timer's spec (the core's `sleep` and `sleepUntil`).
    mutating func timer(_ spec: JSONNode, kind: StepAction.Kind) {
        decoder.timerSpec(spec, kind: kind, field: field, step: step, phase: phase)
    }
}

extension JSONNode {
    /// The JSON type as a person reads it in a message: `string`, `object`, `number`, …
    public var typeName: String { typeDescription }

    /// The value, numbers kept as they were written (`1.0` stays `1.0`).
    public var exactValue: JSONValue { plainValue }
}
