// Actions, compensations and probes: the kind of each and its spec, and the templates they use.
extension WorkflowDecoder {
    mutating func action(
        _ node: JSONNode,
        field: String,
        step: String,
        phase: StepPhase,
        into decoded: inout DecodedStep
    ) -> StepAction? {
        let names = kinds.names
        let kindList = Suggestion.list(names)
        guard case .object(let list) = node.kind else {
            error("'\(field)' of \(step) must be an object with one key, \(kindList), got \(node.typeDescription)",
                  at: node.location)
            return nil
        }
        guard list.count == 1, let member = list.first else {
            if list.isEmpty {
                error("'\(field)' of \(step) is empty: it needs one key, \(kindList)", at: node.location)
            } else {
                error("'\(field)' of \(step) has \(list.count) keys; it needs exactly one of \(kindList)",
                      at: list[1].keyLocation)
            }
            return nil
        }
        let name = StepAction.Kind(rawValue: member.key)
        let spec = member.value
        let errorsBefore = diagnostics.count
        var checker = SagaActionSpecChecker(
            decoder: WorkflowDecoder(file: file), field: field, step: step, phase: phase, kind: name, spec: spec)
        if let kind = kinds[name] {
            // The kind owns its spec: the decoder knows none of its fields.
            kind.validate(spec, in: &checker)
        } else if !kinds.acceptsUnregisteredKinds {
            var message = "unknown action kind '\(member.key)' in '\(field)' of \(step) (expected \(kindList))"
            if let suggestion = Suggestion.closest(to: member.key, among: names) {
                message += "; did you mean '\(suggestion)'?"
            }
            error(message, at: member.keyLocation)
            return nil
        }
        diagnostics.append(contentsOf: checker.decoder.diagnostics)
        if checker.specUnusable { return nil }
        checkTemplates(in: spec, field: field, phase: phase, url: checker.rawTemplateLocation, into: &decoded)
        if diagnostics[errorsBefore...].contains(where: { $0.severity == .error }) { return nil }
        return StepAction(kind: name, spec: spec.plainValue)
    }

    /// Checks every string in an action's specification for template syntax and records step references.
    /// `url`: where an http action's `url` is, the one string whose templates may be `raw:`.
    mutating func checkTemplates(
        in node: JSONNode,
        field: String,
        phase: StepPhase,
        url: SourceLocation? = nil,
        into decoded: inout DecodedStep
    ) {
        switch node.kind {
        case .string(let s):
            guard s.contains("$") else { return }
            do {
                for case .template(let placeholder) in try Template.parse(s) {
                    if placeholder.raw && node.location != url {
                        self.error("template '\(placeholder)' in '\(field)': 'raw:' applies only to templates in "
                                   + "an http 'url'", at: node.location)
                    }
                    decoded.placeholders.append((placeholder, phase, node.location))
                    for reference in placeholder.references {
                        if case .stepOutput(let step, _) = reference {
                            decoded.stepReferences.append(
                                (step: step, template: "${\(reference)}", phase: phase, location: node.location))
                        }
                    }
                }
            } catch {
                self.error("invalid template in '\(field)': \(error.message)", at: node.location)
            }
        case .array(let elements):
            for element in elements { checkTemplates(in: element, field: field, phase: phase, url: url, into: &decoded) }
        case .object(let list):
            for member in list {
                checkTemplates(in: member.value, field: field, phase: phase, url: url, into: &decoded)
            }
        default:
            break
        }
    }
}
