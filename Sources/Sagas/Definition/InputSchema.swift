/// The subset of JSON Schema that a workflow's `input` may use: `type`, `required`, `properties`, `items`, `enum`.
public struct InputSchema: Sendable, Hashable {
    /// Allowed JSON types (`object`, `array`, `string`, `number`, `integer`, `boolean`, `null`); empty allows any.
    public var types: [String]
    /// For objects: members that must be present.
    public var required: [String]
    /// For objects: schemas of named members (other members are allowed).
    public var properties: [String: InputSchema]
    /// For arrays: the schema of every element.
    public var items: InputSchema? {
        get { itemsStorage.first }
        set { itemsStorage = newValue.map { [$0] } ?? [] }
    }
    /// When set, the value must equal one of these.
    public var allowedValues: [JSONValue]?

    private var itemsStorage: [InputSchema]

    /// The JSON types a schema may name.
    public static let typeNames: Set<String> = ["object", "array", "string", "number", "integer", "boolean", "null"]

    public init(
        types: [String] = [],
        required: [String] = [],
        properties: [String: InputSchema] = [:],
        items: InputSchema? = nil,
        allowedValues: [JSONValue]? = nil
    ) {
        self.types = types
        self.required = required
        self.properties = properties
        self.itemsStorage = items.map { [$0] } ?? []
        self.allowedValues = allowedValues
    }

    /// Checks a value; returns one message per problem, each naming the path (`input.items[0].sku: …`).
    public func validate(_ value: JSONValue, path: String = "input") -> [String] {
        var problems: [String] = []
        check(value, path: path, into: &problems)
        return problems
    }

    private func check(_ value: JSONValue, path: String, into problems: inout [String]) {
        if problems.count >= 50 { return }
        if !types.isEmpty {
            let actual = value.typeName
            let ok = types.contains(actual) || (actual == "integer" && types.contains("number"))
            if !ok {
                problems.append("\(path): expected \(types.joined(separator: " or ")), got \(actual)")
                return
            }
        }
        if let allowedValues, !allowedValues.contains(where: { InputSchema.equal($0, value) }) {
            let list = allowedValues.map(\.jsonString).joined(separator: ", ")
            problems.append("\(path): \(value.jsonString) is not one of \(list)")
        }
        switch value {
        case .object(let members):
            for name in required where members[name] == nil {
                problems.append("\(path): missing required member '\(name)'")
            }
            for (name, schema) in properties.sorted(by: { $0.key < $1.key }) {
                if let member = members[name] {
                    schema.check(member, path: "\(path).\(name)", into: &problems)
                }
            }
        case .array(let elements):
            if let items {
                for (i, element) in elements.enumerated() {
                    items.check(element, path: "\(path)[\(i)]", into: &problems)
                }
            }
        default:
            break
        }
    }

    private static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if let x = a.doubleValue, let y = b.doubleValue { return x == y }
        return a == b
    }
}
