// Decodes a parsed workflow file (format v1) into a `SagaDefinition`, collecting every problem with its position.
//
// Positions: unknown and duplicate keys are reported at the key, bad values at the value, missing required fields
// at the object that lacks them.

/// The `name` and `version` of a workflow file, read even when the rest of the file has errors (catalogs and the
/// duplicate check across a folder need them).
struct WorkflowHeader: Sendable, Hashable {
    var name: String
    var version: Int
    var location: SourceLocation
    /// The limits the file declares, with where each is (the folder check of `saga validate` compares them).
    var limits: [String: LimitDeclaration] = [:]
}

/// What the decoder keeps about each step for the checks that need the whole workflow.
struct DecodedStep {
    var step: SagaStep
    var location: SourceLocation
    var nameLocation: SourceLocation
    /// Explicit `after` entries with their positions; `nil` when `after` is absent (or not an array).
    var afterEntries: [(name: String, location: SourceLocation)]?
    var afterLocation: SourceLocation?
    var declaredKind: StepKind?
    var kindLocation: SourceLocation?
    var compensationKeyLocation: SourceLocation?
    /// `${steps.X.output…}` references in the step's actions.
    var stepReferences: [(step: String, template: String, phase: StepPhase, location: SourceLocation)] = []
    /// Every template in the step's actions, for the checks of `checkTemplateUse`.
    var placeholders: [(placeholder: Template.Placeholder, phase: StepPhase, location: SourceLocation)] = []
    /// Where `limit` is, when the step has one.
    var limitLocation: SourceLocation?
    /// Where the step's own `timeout` is, when it sets one.
    var timeoutLocation: SourceLocation?
}

struct WorkflowDecoder {
    let file: String
    var diagnostics: [WorkflowDiagnostic] = []
    var header: WorkflowHeader?
    /// The action kinds the workflow may use, each with the rules of its spec.
    var kinds: SagaActionKinds

    init(file: String, kinds: SagaActionKinds = .core) {
        self.file = file
        self.kinds = kinds
    }

    // MARK: Diagnostics

    mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(
            WorkflowDiagnostic(file: file, line: location.line, column: location.column, severity: .error,
                               message: message))
    }

    mutating func warning(_ message: String, at location: SourceLocation) {
        diagnostics.append(
            WorkflowDiagnostic(file: file, line: location.line, column: location.column, severity: .warning,
                               message: message))
    }

    // MARK: Generic helpers

    /// The members of an object node by key (first occurrence), after reporting duplicate and unknown keys.
    /// Reports a type error and returns `nil` when the node is not an object.
    mutating func members(
        of node: JSONNode,
        what: String,
        allowed: [String],
        ignored: Set<String> = []
    ) -> [String: JSONMember]? {
        guard case .object(let list) = node.kind else {
            error("\(what) must be an object, got \(node.typeDescription)", at: node.location)
            return nil
        }
        var result: [String: JSONMember] = [:]
        for member in list {
            if let first = result[member.key] {
                error(
                    "duplicate key '\(member.key)' in \(what) (first at line \(first.keyLocation.line), "
                        + "column \(first.keyLocation.column))",
                    at: member.keyLocation)
                continue
            }
            result[member.key] = member
            if !allowed.contains(member.key) && !ignored.contains(member.key) {
                var message = "unknown field '\(member.key)' in \(what)"
                if let suggestion = Suggestion.closest(to: member.key, among: allowed) {
                    message += "; did you mean '\(suggestion)'?"
                } else {
                    message += " (expected \(Suggestion.list(allowed)))"
                }
                error(message, at: member.keyLocation)
            }
        }
        return result
    }

    mutating func string(_ node: JSONNode, field: String) -> String? {
        guard case .string(let s) = node.kind else {
            error("'\(field)' must be a string, got \(node.typeDescription)", at: node.location)
            return nil
        }
        return s
    }

    mutating func stringArray(_ node: JSONNode, field: String) -> [(String, SourceLocation)]? {
        guard case .array(let elements) = node.kind else {
            error("'\(field)' must be an array of strings, got \(node.typeDescription)", at: node.location)
            return nil
        }
        var result: [(String, SourceLocation)] = []
        for element in elements {
            if case .string(let s) = element.kind {
                result.append((s, element.location))
            } else {
                error("'\(field)' must contain only strings, got \(element.typeDescription)", at: element.location)
            }
        }
        return result
    }

    mutating func stringMap(_ node: JSONNode, field: String) {
        guard case .object(let list) = node.kind else {
            error("'\(field)' must be an object of strings, got \(node.typeDescription)", at: node.location)
            return
        }
        var seen: [String: SourceLocation] = [:]
        for member in list {
            if let first = seen[member.key] {
                error(
                    "duplicate key '\(member.key)' in '\(field)' (first at line \(first.line), column \(first.column))",
                    at: member.keyLocation)
            }
            seen[member.key] = member.keyLocation
            if case .string = member.value.kind { continue }
            error("'\(field).\(member.key)' must be a string, got \(member.value.typeDescription)",
                  at: member.value.location)
        }
    }

    mutating func duration(_ node: JSONNode, field: String, allowZero: Bool) -> Duration? {
        guard case .string(let text) = node.kind else {
            error("'\(field)' must be a duration string such as \"250ms\", \"5s\", \"2m\" or \"1h\", got "
                  + node.typeDescription, at: node.location)
            return nil
        }
        if SagaDuration.exceedsMaximum(text) {
            error("'\(field)' is longer than the longest duration allowed, \(SagaDuration.maximumText): \"\(text)\"",
                  at: node.location)
            return nil
        }
        guard let d = SagaDuration.parse(text) else {
            error("'\(field)' is not a valid duration: \"\(text)\" (use a whole number and a unit: "
                  + "\"250ms\", \"5s\", \"2m\", \"1h\")", at: node.location)
            return nil
        }
        if !allowZero && d <= .zero {
            error("'\(field)' must be longer than zero, got \"\(text)\"", at: node.location)
            return nil
        }
        return d
    }

    /// Reports duplicate keys anywhere inside a free-form value (`body`, `stdin`, `input`, `enum`).
    mutating func checkDuplicateKeys(in node: JSONNode, field: String) {
        switch node.kind {
        case .object(let list):
            var seen: [String: SourceLocation] = [:]
            for member in list {
                if let first = seen[member.key] {
                    error(
                        "duplicate key '\(member.key)' in '\(field)' (first at line \(first.line), "
                            + "column \(first.column))",
                        at: member.keyLocation)
                } else {
                    seen[member.key] = member.keyLocation
                }
                checkDuplicateKeys(in: member.value, field: field)
            }
        case .array(let elements):
            for element in elements { checkDuplicateKeys(in: element, field: field) }
        default:
            break
        }
    }

    // MARK: Document

    static let topLevelKeys = [
        "$schema", "name", "version", "description", "input", "defaults", "steps", "reconciliation", "key",
        "limits", "exclusive",
    ]
    static let stepKeys = [
        "name", "action", "compensation", "probe", "retry", "compensationRetry", "timeout", "after", "kind",
        "description", "limit", "await",
    ]

    /// Decodes the whole document; the definition is meaningful only when no error was reported.
    mutating func decode(_ root: JSONNode) -> (definition: SagaDefinition, steps: [DecodedStep])? {
        guard let top = members(of: root, what: "the workflow", allowed: Self.topLevelKeys) else { return nil }

        if let schema = top["$schema"] { _ = string(schema.value, field: "$schema") }

        var name = ""
        if let member = top["name"] {
            if let s = string(member.value, field: "name") {
                if s.isEmpty || s.count > 100 || !s.unicodeScalars.allSatisfy(Self.isWorkflowNameScalar) {
                    error("'name' must be 1 to 100 lower-case letters, digits, '.', '_' or '-', got \"\(s)\"",
                          at: member.value.location)
                }
                name = s
            }
        } else {
            error("missing required field 'name'", at: root.location)
        }

        var version = 0
        if let member = top["version"] {
            if case .string = member.value.kind {
                error("'version' must be a positive integer, got string", at: member.value.location)
            } else if let v = member.value.plainValue.intValue, v >= 1, member.value.isNumber {
                version = v
            } else {
                let got = member.value.isNumber ? member.value.plainValue.jsonString : member.value.typeDescription
                error("'version' must be a positive integer, got \(got)", at: member.value.location)
            }
        } else {
            error("missing required field 'version'", at: root.location)
        }
        if let member = top["name"], !name.isEmpty, version > 0 {
            header = WorkflowHeader(name: name, version: version, location: member.value.location)
        }

        var description: String?
        if let member = top["description"] { description = string(member.value, field: "description") }

        var input: InputSchema?
        if let member = top["input"] { input = inputSchema(member.value, path: "input") }

        var defaults = StepDefaults()
        if let member = top["defaults"] { defaults = self.defaults(member.value) }

        var reconciliation: ReconciliationSettings?
        if let member = top["reconciliation"] { reconciliation = self.reconciliation(member.value) }

        var key: String?
        if let member = top["key"] { key = businessKey(member.value) }

        var limits: [String: SagaLimit] = [:]
        if let member = top["limits"] { limits = self.limits(member.value) }
        var exclusive: [String] = []
        if let member = top["exclusive"] { exclusive = exclusiveKeys(member.value) }

        var steps: [DecodedStep] = []
        if let member = top["steps"] {
            if case .array(let elements) = member.value.kind {
                if elements.isEmpty {
                    error("'steps' must contain at least one step", at: member.value.location)
                } else if elements.count > WorkflowLoader.maxSteps {
                    error("the workflow has \(elements.count) steps; at most \(WorkflowLoader.maxSteps) are allowed",
                          at: member.value.location)
                    return nil
                } else {
                    for (index, element) in elements.enumerated() {
                        let previous = index > 0 ? steps.last?.step.name : nil
                        if let decoded = step(element, index: index, previous: previous, defaults: defaults) {
                            steps.append(decoded)
                        }
                    }
                }
            } else {
                error("'steps' must be an array of steps, got \(member.value.typeDescription)",
                      at: member.value.location)
            }
        } else {
            error("missing required field 'steps'", at: root.location)
        }

        let definition = SagaDefinition(
            name: name, version: version, description: description, input: input, defaults: defaults,
            steps: steps.map(\.step), reconciliation: reconciliation, key: key, limits: limits,
            exclusive: exclusive)
        checkStepLimits(steps, declared: limits)
        return (definition, steps)
    }

    /// The business key: a non-empty string of templates over the input (`${input.…}`, `${saga.workflow}`).
    mutating func businessKey(_ node: JSONNode) -> String? {
        guard let text = string(node, field: "key") else { return nil }
        if text.isEmpty || text.count > SagaDefinition.maxKeyLength {
            error("'key' must be 1 to \(SagaDefinition.maxKeyLength) characters", at: node.location)
            return nil
        }
        do {
            for case .template(let placeholder) in try Template.parse(text) {
                for reference in placeholder.references {
                    switch reference {
                    case .input, .sagaWorkflow: continue
                    default:
                        error("'key' may only use ${input.…} and ${saga.workflow}, not ${\(reference)}", at: node.location)
                        return nil
                    }
                }
            }
        } catch {
            self.error("invalid template in 'key': \(error.message)", at: node.location)
            return nil
        }
        return text
    }

    static func isWorkflowNameScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "." || c == "_" || c == "-"
    }

    static func isStepNameScalar(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
    }

    // MARK: Defaults and retry policies

    mutating func defaults(_ node: JSONNode) -> StepDefaults {
        var result = StepDefaults()
        guard let m = members(of: node, what: "'defaults'", allowed: ["retry", "compensationRetry", "timeout"])
        else { return result }
        if let r = m["retry"] { result.retry = retryPolicy(r.value, field: "defaults.retry", base: .defaultAction) }
        if let r = m["compensationRetry"] {
            result.compensationRetry = retryPolicy(
                r.value, field: "defaults.compensationRetry", base: .defaultCompensation)
        }
        if let t = m["timeout"], let d = duration(t.value, field: "defaults.timeout", allowZero: false) {
            result.timeout = d
        }
        return result
    }

    static let reconciliationKeys = ["retryInterval", "maxAutomaticRetries"]

    /// The workflow's reconciliation settings: only the fields given are set.
    mutating func reconciliation(_ node: JSONNode) -> ReconciliationSettings? {
        guard let m = members(of: node, what: "'reconciliation'", allowed: Self.reconciliationKeys) else { return nil }
        var result = ReconciliationSettings()
        if let member = m["retryInterval"] {
            result.retryInterval = duration(member.value, field: "reconciliation.retryInterval", allowZero: true)
        }
        if let member = m["maxAutomaticRetries"] {
            if member.value.isNumber, let n = member.value.plainValue.intValue, (0...100).contains(n) {
                result.maxAutomaticRetries = n
            } else {
                let got = member.value.isNumber ? member.value.plainValue.jsonString : member.value.typeDescription
                error("'reconciliation.maxAutomaticRetries' must be an integer from 0 to 100, got \(got)",
                      at: member.value.location)
            }
        }
        return result
    }

    static let retryKeys = ["maxAttempts", "initialInterval", "maxInterval", "backoffCoefficient", "jitter"]

    /// A retry policy: the fields given override `base`.
    mutating func retryPolicy(_ node: JSONNode, field: String, base: RetryPolicy) -> RetryPolicy {
        var policy = base
        guard let m = members(of: node, what: "'\(field)'", allowed: Self.retryKeys) else { return policy }
        if let member = m["maxAttempts"] {
            if member.value.isNumber, let n = member.value.plainValue.intValue, (1...1000).contains(n) {
                policy.maxAttempts = n
            } else {
                let got = member.value.isNumber ? member.value.plainValue.jsonString : member.value.typeDescription
                error("'\(field).maxAttempts' must be an integer from 1 to 1000, got \(got)",
                      at: member.value.location)
            }
        }
        var initialOK = true
        var maxOK = true
        if let member = m["initialInterval"] {
            if let d = duration(member.value, field: "\(field).initialInterval", allowZero: true) {
                policy.initialInterval = d
            } else {
                initialOK = false
            }
        }
        if let member = m["maxInterval"] {
            if let d = duration(member.value, field: "\(field).maxInterval", allowZero: true) {
                policy.maxInterval = d
            } else {
                maxOK = false
            }
        }
        if let member = m["backoffCoefficient"] {
            if member.value.isNumber, let c = member.value.plainValue.doubleValue, c >= 1, c <= 100 {
                policy.backoffCoefficient = c
            } else {
                let got = member.value.isNumber ? member.value.plainValue.jsonString : member.value.typeDescription
                error("'\(field).backoffCoefficient' must be a number from 1 to 100, got \(got)",
                      at: member.value.location)
            }
        }
        if let member = m["jitter"] {
            if case .string(let s) = member.value.kind, let j = RetryPolicy.Jitter(rawValue: s) {
                policy.jitter = j
            } else {
                let got: String
                if case .string(let s) = member.value.kind { got = "\"\(s)\"" } else {
                    got = member.value.typeDescription
                }
                error("'\(field).jitter' must be \"full\" or \"none\", got \(got)", at: member.value.location)
            }
        }
        if initialOK && maxOK && policy.maxInterval < policy.initialInterval {
            let location = m["maxInterval"]?.value.location ?? m["initialInterval"]?.value.location ?? node.location
            error(
                "'\(field).maxInterval' (\(SagaDuration.format(policy.maxInterval))) must not be shorter than "
                    + "'initialInterval' (\(SagaDuration.format(policy.initialInterval)))",
                at: location)
        }
        return policy
    }

    // MARK: Steps

    mutating func step(_ node: JSONNode, index: Int, previous: String?, defaults: StepDefaults) -> DecodedStep? {
        let what = "step \(index + 1)"
        guard let m = members(of: node, what: what, allowed: Self.stepKeys) else { return nil }

        var name = "step\(index + 1)"
        var nameLocation = node.location
        if let member = m["name"] {
            nameLocation = member.value.location
            if let s = string(member.value, field: "name") {
                if s.isEmpty || !s.unicodeScalars.allSatisfy(Self.isStepNameScalar) {
                    error("step name must be letters, digits, '_' or '-', got \"\(s)\"", at: member.value.location)
                }
                name = s
            }
        } else {
            error("missing required field 'name' in \(what)", at: node.location)
        }
        let label = "step '\(name)'"

        var decoded = DecodedStep(
            step: SagaStep(name: name, action: .handler("")), location: node.location, nameLocation: nameLocation)

        if let member = m["action"] {
            if let action = action(member.value, field: "action", step: label, phase: .action, into: &decoded) {
                decoded.step.action = action
            }
        } else {
            error("missing required field 'action' in \(label)", at: node.location)
        }
        if let member = m["compensation"] {
            decoded.compensationKeyLocation = member.keyLocation
            decoded.step.compensation = action(
                member.value, field: "compensation", step: label, phase: .compensation, into: &decoded)
        }
        if let member = m["probe"] {
            decoded.step.probe = action(member.value, field: "probe", step: label, phase: .probe, into: &decoded)
        }

        decoded.step.retry = defaults.retry
        if let member = m["retry"] {
            decoded.step.retry = retryPolicy(member.value, field: "retry", base: defaults.retry)
        }
        decoded.step.compensationRetry = defaults.compensationRetry
        if let member = m["compensationRetry"] {
            decoded.step.compensationRetry = retryPolicy(
                member.value, field: "compensationRetry", base: defaults.compensationRetry)
        }
        decoded.step.timeout = defaults.timeout
        if let member = m["timeout"], let d = duration(member.value, field: "timeout", allowZero: false) {
            decoded.step.timeout = d
            decoded.timeoutLocation = member.value.location
        }

        decoded.step.after = previous.map { [$0] } ?? []
        if let member = m["after"] {
            decoded.afterLocation = member.value.location
            if let entries = stringArray(member.value, field: "after") {
                var seen: Set<String> = []
                var names: [String] = []
                for (entry, location) in entries {
                    if !seen.insert(entry).inserted {
                        error("'after' lists '\(entry)' twice", at: location)
                        continue
                    }
                    names.append(entry)
                }
                decoded.afterEntries = entries.map { (name: $0.0, location: $0.1) }
                decoded.step.after = names
            }
        }

        if let member = m["kind"] {
            decoded.kindLocation = member.value.location
            if case .string(let s) = member.value.kind, let kind = StepKind(rawValue: s) {
                decoded.declaredKind = kind
                decoded.step.kind = kind
            } else {
                let got: String
                if case .string(let s) = member.value.kind { got = "\"\(s)\"" } else {
                    got = member.value.typeDescription
                }
                var message = "'kind' must be one of \(Suggestion.list(StepKind.allCases.map(\.rawValue))), got \(got)"
                if case .string(let s) = member.value.kind,
                    let suggestion = Suggestion.closest(to: s, among: StepKind.allCases.map(\.rawValue))
                {
                    message += "; did you mean '\(suggestion)'?"
                }
                error(message, at: member.value.location)
            }
        }
        if let member = m["description"] { _ = string(member.value, field: "description") }
        if let member = m["limit"] { stepLimit(member.value, into: &decoded) }
        if let member = m["await"] { decoded.step.awaits = stepAwait(member.value, step: label) }
        return decoded
    }
}
