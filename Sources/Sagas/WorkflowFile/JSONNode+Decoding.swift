// MARK: - Node helpers

extension JSONNode {
    /// The JSON type as a person reads it in a message.
    var typeDescription: String {
        switch kind {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .decimal: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    var isNumber: Bool {
        switch kind {
        case .integer, .number, .decimal: true
        default: false
        }
    }

    /// The plain value. Numbers keep the text they were written with (`1.0` stays `1.0`, see `JSONValue.decimal`),
    /// so that a value serialized and parsed again is equal to itself.
    var plainValue: JSONValue {
        switch kind {
        case .null: .null
        case .bool(let b): .bool(b)
        case .integer(let i): .integer(i)
        case .number(let d): JSONValue.exactInteger(d).map(JSONValue.integer) ?? .number(d)
        case .decimal(let text): .decimal(text)
        case .string(let s): .string(s)
        case .array(let a): .array(a.map(\.plainValue))
        case .object(let members):
            .object(Dictionary(members.map { ($0.key, $0.value.plainValue) }, uniquingKeysWith: { _, last in last }))
        }
    }
}
