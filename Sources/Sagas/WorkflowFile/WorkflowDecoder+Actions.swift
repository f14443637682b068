// Actions, compensations and probes: the kind of each and its spec, and the templates they use.
extension WorkflowDecoder {
    static let httpKeys = ["method", "url", "headers", "query", "body", "successStatus", "followRedirects", "keepHeaders"]
    static let httpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    static let commandKeys = ["argv", "stdin", "env"]
    static let handlerKeys = ["name", "input"]
    static let actionKinds = StepAction.Kind.allCases.map(\.rawValue)

    mutating func action(
        _ node: JSONNode,
        field: String,
        step: String,
        phase: StepPhase,
        into decoded: inout DecodedStep
    ) -> StepAction? {
        let kinds = Suggestion.list(Self.actionKinds)
        guard case .object(let list) = node.kind else {
            error("'\(field)' of \(step) must be an object with one key, \(kinds), got \(node.typeDescription)",
                  at: node.location)
            return nil
        }
        guard list.count == 1, let member = list.first else {
            if list.isEmpty {
                error("'\(field)' of \(step) is empty: it needs one key, \(kinds)", at: node.location)
            } else {
                error("'\(field)' of \(step) has \(list.count) keys; it needs exactly one of \(kinds)",
                      at: list[1].keyLocation)
            }
            return nil
        }
        guard let kind = StepAction.Kind(rawValue: member.key) else {
            var message = "unknown action kind '\(member.key)' in '\(field)' of \(step) (expected \(kinds))"
            if let suggestion = Suggestion.closest(to: member.key, among: Self.actionKinds) {
                message += "; did you mean '\(suggestion)'?"
            }
            error(message, at: member.keyLocation)
            return nil
        }
        let spec = member.value
        let where_ = "'\(field).\(kind.rawValue)' of \(step)"
        let errorsBefore = diagnostics.count
        switch kind {
        case .http:
            guard let m = members(of: spec, what: where_, allowed: Self.httpKeys) else { return nil }
            if let method = m["method"] {
                if case .string(let s) = method.value.kind, Self.httpMethods.contains(s) {
                } else {
                    let got: String
                    if case .string(let s) = method.value.kind { got = "\"\(s)\"" } else {
                        got = method.value.typeDescription
                    }
                    error("'method' must be one of \(Suggestion.list(Self.httpMethods)), got \(got)",
                          at: method.value.location)
                }
            } else {
                error("missing required field 'method' in \(where_)", at: spec.location)
            }
            if let url = m["url"] {
                if let s = string(url.value, field: "url"), s.isEmpty {
                    error("'url' must not be empty", at: url.value.location)
                }
            } else {
                error("missing required field 'url' in \(where_)", at: spec.location)
            }
            if let headers = m["headers"] { stringMap(headers.value, field: "headers") }
            if let query = m["query"] { stringMap(query.value, field: "query") }
            if let body = m["body"] { checkDuplicateKeys(in: body.value, field: "body") }
            if let statuses = m["successStatus"] {
                if case .array(let elements) = statuses.value.kind, !elements.isEmpty {
                    for element in elements {
                        if case .integer(let code) = element.kind, (100...599).contains(code) { continue }
                        error("'successStatus' must list HTTP status codes from 100 to 599, got "
                              + element.plainValue.jsonString, at: element.location)
                    }
                } else {
                    error("'successStatus' must be a non-empty array of status codes, got "
                          + statuses.value.plainValue.jsonString.prefix(40), at: statuses.value.location)
                }
            }
            if let follow = m["followRedirects"] {
                if case .bool = follow.value.kind {} else {
                    error("'followRedirects' must be true or false, got \(follow.value.typeDescription)",
                          at: follow.value.location)
                }
            }
            if let keep = m["keepHeaders"] { _ = stringArray(keep.value, field: "keepHeaders") }
        case .command:
            guard let m = members(of: spec, what: where_, allowed: Self.commandKeys) else { return nil }
            if let argv = m["argv"] {
                if let entries = stringArray(argv.value, field: "argv") {
                    if case .array(let elements) = argv.value.kind, elements.isEmpty {
                        error("'argv' must not be empty: its first element is the program to run",
                              at: argv.value.location)
                    } else if let first = entries.first, first.0.isEmpty {
                        error("'argv[0]' must name the program to run", at: first.1)
                    }
                }
            } else {
                error("missing required field 'argv' in \(where_)", at: spec.location)
            }
            if let stdin = m["stdin"] { checkDuplicateKeys(in: stdin.value, field: "stdin") }
            if let env = m["env"] { stringMap(env.value, field: "env") }
        case .handler:
            guard let m = members(of: spec, what: where_, allowed: Self.handlerKeys) else { return nil }
            if let name = m["name"] {
                if let s = string(name.value, field: "name"), s.isEmpty {
                    error("the handler 'name' must not be empty", at: name.value.location)
                }
            } else {
                error("missing required field 'name' in \(where_)", at: spec.location)
            }
            if let input = m["input"] { checkDuplicateKeys(in: input.value, field: "input") }
        case .sleep, .sleepUntil:
            timerSpec(spec, kind: kind, field: field, step: step, phase: phase)
        }
        let url = kind == .http ? spec.member("url")?.value.location : nil
        checkTemplates(in: spec, field: field, phase: phase, url: url, into: &decoded)
        if diagnostics[errorsBefore...].contains(where: { $0.severity == .error }) { return nil }
        return StepAction(kind: kind, spec: spec.plainValue)
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
