// Checks of how templates are used that need the whole workflow: keys of unknown steps, compensations that read an
// output that may be missing, and optional input fields read without a default.

extension WorkflowDecoder {
    /// Runs the template checks on decoded steps (after `validate`).
    mutating func checkTemplateUse(_ steps: [DecodedStep], input: InputSchema?) {
        let names = steps.map(\.step.name)
        let known = Set(names)
        for s in steps {
            let name = s.step.name
            for (placeholder, phase, location) in s.placeholders {
                for case .stepKey(let step) in placeholder.references where !known.contains(step) {
                    var message = "template '\(placeholder)' in step '\(name)' names unknown step '\(step)'"
                    if let suggestion = Suggestion.closest(to: step, among: names) {
                        message += "; did you mean '\(suggestion)'?"
                    }
                    error(message, at: location)
                }
                let safe = isSafe(placeholder, input: input)
                if phase == .compensation, s.step.kind == .compensable, s.step.probe == nil, !safe,
                    case .stepOutput(let step, let path) = placeholder.reference, step == name
                {
                    let example = "${" + (["steps", name, "output"] + path).joined(separator: ".") + " ?? steps.\(name).key}"
                    warning("template '\(placeholder)' in the compensation of step '\(name)' reads the step's own "
                            + "output, which is missing when the step's outcome is unknown (a timeout, a crash) and "
                            + "it has no probe: add a default (\(example)) or a 'probe'", at: location)
                }
                if !safe, case .input(let path) = placeholder.reference, let input,
                    let optional = Self.optionalMember(path, of: input)
                {
                    let example = "${" + (["input"] + path).joined(separator: ".") + " ?? \"\"}"
                    warning("template '\(placeholder)' in the \(phase.rawValue) of step '\(name)' reads "
                            + "'input.\(optional)', which the input schema does not require: add a default "
                            + "(\(example)) or list it in 'required'", at: location)
                }
            }
        }
    }

    /// Whether a template always gives a value: a literal default, or an alternative that is always there (a key,
    /// the saga's id or workflow, an input member the schema requires).
    private func isSafe(_ placeholder: Template.Placeholder, input: InputSchema?) -> Bool {
        if placeholder.defaultValue != nil { return true }
        return placeholder.references.contains { reference in
            if reference.isAlwaysKnown { return true }
            if case .input(let path) = reference, let input { return Self.optionalMember(path, of: input) == nil }
            return false
        }
    }

    /// The first member on `path` that `schema` describes as an object member without requiring it (`a.b`), or
    /// `nil` when every member on the path is required or the schema does not say.
    static func optionalMember(_ path: [String], of schema: InputSchema) -> String? {
        var current = schema
        for (i, component) in path.enumerated() {
            let describesObject = current.types.contains("object") || !current.required.isEmpty
                || !current.properties.isEmpty
            guard describesObject, current.types.isEmpty || current.types.contains("object") else { return nil }
            if !current.required.contains(component) { return path[...i].joined(separator: ".") }
            guard let next = current.properties[component] else { return nil }
            current = next
        }
        return nil
    }
}
