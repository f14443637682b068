// Decodes named limits (`"limits"`, a step's `"limit"`) and exclusive keys (`"exclusive"`).

/// A limit as one file declares it, with its position (for the folder check of `saga validate`).
struct LimitDeclaration: Sendable, Hashable {
    var limit: SagaLimit
    var location: SourceLocation
}

extension WorkflowDecoder {
    static let limitKeys = ["concurrency", "rate"]
    /// The most exclusive keys one workflow may declare.
    static let maxExclusiveKeys = 16

    /// `"limits": {"payments": {"concurrency": 8, "rate": "50/s"}}`.
    mutating func limits(_ node: JSONNode) -> [String: SagaLimit] {
        guard case .object(let list) = node.kind else {
            error("'limits' must be an object of named limits, got \(node.typeDescription)", at: node.location)
            return [:]
        }
        var result: [String: SagaLimit] = [:]
        var seen: [String: SourceLocation] = [:]
        for member in list {
            let name = member.key
            if let first = seen[name] {
                error("duplicate limit '\(name)' in 'limits' (first at line \(first.line), column \(first.column))",
                      at: member.keyLocation)
                continue
            }
            seen[name] = member.keyLocation
            guard SagaLimit.isValidName(name) else {
                error("limit name must be 1 to \(SagaLimit.maxNameLength) letters, digits, '.', '_' or '-', "
                      + "got \"\(name)\"", at: member.keyLocation)
                continue
            }
            guard let m = members(of: member.value, what: "limit '\(name)'", allowed: Self.limitKeys) else { continue }
            var limit = SagaLimit()
            var valid = true
            if let c = m["concurrency"] {
                if c.value.isNumber, let n = c.value.plainValue.intValue, (1...SagaLimit.maxConcurrency).contains(n) {
                    limit.concurrency = n
                } else {
                    let got = c.value.isNumber ? c.value.plainValue.jsonString : c.value.typeDescription
                    error("'limits.\(name).concurrency' must be an integer from 1 to \(SagaLimit.maxConcurrency), "
                          + "got \(got)", at: c.value.location)
                    valid = false
                }
            }
            if let r = m["rate"] {
                if case .string(let text) = r.value.kind, let rate = SagaRate(parsing: text) {
                    limit.rate = rate
                } else {
                    let got: String
                    if case .string(let text) = r.value.kind { got = "\"\(text)\"" } else { got = r.value.typeDescription }
                    error("'limits.\(name).rate' must be COUNT/PERIOD such as \"50/s\", \"600/m\" or \"5/10s\" "
                          + "(COUNT from 1 to 1000000, PERIOD from 1ms to 24h), got \(got)", at: r.value.location)
                    valid = false
                }
            }
            if valid && limit.concurrency == nil && limit.rate == nil {
                error("limit '\(name)' must set 'concurrency', 'rate' or both", at: member.value.location)
                valid = false
            }
            if valid {
                result[name] = limit
                header?.limits[name] = LimitDeclaration(limit: limit, location: member.keyLocation)
            }
        }
        return result
    }

    /// A step's `"limit": NAME`.
    mutating func stepLimit(_ node: JSONNode, into decoded: inout DecodedStep) {
        guard let name = string(node, field: "limit") else { return }
        decoded.step.limit = name
        decoded.limitLocation = node.location
    }

    /// Every step's limit must be one the workflow declares.
    mutating func checkStepLimits(_ steps: [DecodedStep], declared: [String: SagaLimit]) {
        for s in steps {
            guard let name = s.step.limit, let location = s.limitLocation, declared[name] == nil else { continue }
            var message = "step '\(s.step.name)' uses limit '\(name)', which 'limits' does not declare"
            if let suggestion = Suggestion.closest(to: name, among: declared.keys.sorted()) {
                message += "; did you mean '\(suggestion)'?"
            }
            error(message, at: location)
        }
    }

    /// `"exclusive": "account:${input.accountId}"` or an array of such templates.
    mutating func exclusiveKeys(_ node: JSONNode) -> [String] {
        var templates: [(String, SourceLocation)] = []
        switch node.kind {
        case .string(let s):
            templates = [(s, node.location)]
        case .array(let elements):
            if elements.isEmpty {
                error("'exclusive' must list at least one key template", at: node.location)
                return []
            }
            if elements.count > Self.maxExclusiveKeys {
                error("'exclusive' lists \(elements.count) keys; at most \(Self.maxExclusiveKeys) are allowed",
                      at: node.location)
                return []
            }
            for element in elements {
                guard case .string(let s) = element.kind else {
                    error("'exclusive' must contain only strings, got \(element.typeDescription)", at: element.location)
                    continue
                }
                templates.append((s, element.location))
            }
        default:
            error("'exclusive' must be a key template or an array of them, got \(node.typeDescription)",
                  at: node.location)
            return []
        }
        var result: [String] = []
        for (text, location) in templates {
            if text.isEmpty || text.count > SagaDefinition.maxKeyLength {
                error("an exclusive key must be 1 to \(SagaDefinition.maxKeyLength) characters", at: location)
                continue
            }
            if result.contains(text) {
                error("'exclusive' lists \"\(text)\" twice", at: location)
                continue
            }
            do {
                var allowed = true
                for case .template(let placeholder) in try Template.parse(text) {
                    for reference in placeholder.references {
                        switch reference {
                        case .input, .sagaWorkflow: continue
                        default:
                            error("'exclusive' may only use ${input.…} and ${saga.workflow}, not ${\(reference)}",
                                  at: location)
                            allowed = false
                        }
                    }
                }
                if allowed { result.append(text) }
            } catch {
                self.error("invalid template in 'exclusive': \(error.message)", at: location)
            }
        }
        return result
    }
}
