// The `input` member of a workflow file: a subset of JSON Schema, checked at start.
extension WorkflowDecoder {
    static let schemaKeys = ["type", "required", "properties", "items", "enum"]
    static let ignoredSchemaKeys: Set<String> = ["description", "title", "$schema", "additionalProperties"]

    mutating func inputSchema(_ node: JSONNode, path: String) -> InputSchema? {
        guard let m = members(of: node, what: "the schema '\(path)'", allowed: Self.schemaKeys,
                              ignored: Self.ignoredSchemaKeys)
        else { return nil }
        var schema = InputSchema()
        if let member = m["type"] {
            switch member.value.kind {
            case .string(let s):
                if InputSchema.typeNames.contains(s) {
                    schema.types = [s]
                } else {
                    error("'\(path).type': unknown type \"\(s)\" (expected \(Suggestion.list(Self.sortedTypeNames)))",
                          at: member.value.location)
                }
            case .array(let elements):
                for element in elements {
                    if case .string(let s) = element.kind, InputSchema.typeNames.contains(s) {
                        schema.types.append(s)
                    } else {
                        error("'\(path).type' must list type names (\(Suggestion.list(Self.sortedTypeNames))), "
                              + "got \(element.plainValue.jsonString)", at: element.location)
                    }
                }
            default:
                error("'\(path).type' must be a type name or an array of type names, got "
                      + member.value.typeDescription, at: member.value.location)
            }
        }
        if let member = m["required"], let names = stringArray(member.value, field: "\(path).required") {
            schema.required = names.map(\.0)
        }
        if let member = m["properties"] {
            if case .object(let list) = member.value.kind {
                var seen: [String: SourceLocation] = [:]
                for property in list {
                    if let first = seen[property.key] {
                        error("duplicate key '\(property.key)' in '\(path).properties' (first at line "
                              + "\(first.line), column \(first.column))", at: property.keyLocation)
                        continue
                    }
                    seen[property.key] = property.keyLocation
                    if let s = inputSchema(property.value, path: "\(path).\(property.key)") {
                        schema.properties[property.key] = s
                    }
                }
            } else {
                error("'\(path).properties' must be an object of schemas, got \(member.value.typeDescription)",
                      at: member.value.location)
            }
        }
        if let member = m["items"] {
            schema.items = inputSchema(member.value, path: "\(path)[]")
        }
        if let member = m["enum"] {
            if case .array(let elements) = member.value.kind {
                checkDuplicateKeys(in: member.value, field: "\(path).enum")
                schema.allowedValues = elements.map(\.plainValue)
            } else {
                error("'\(path).enum' must be an array, got \(member.value.typeDescription)",
                      at: member.value.location)
            }
        }
        return schema
    }

    static let sortedTypeNames = InputSchema.typeNames.sorted()
}
