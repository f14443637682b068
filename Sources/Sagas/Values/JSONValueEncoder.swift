/// Encodes an `Encodable` value into a ``JSONValue`` without going through text: the views (`SagaSummaryView`,
/// `SagaDetailView`, …) are encoded by this for `--json` and the HTTP API, and by any `Encoder` for an embedder.
///
/// A `JSONValue` inside the value is kept as it is (numbers keep the text they were written with), which a round
/// trip through `JSONEncoder` would not do.
public struct JSONValueEncoder: Sendable {
    public init() {}

    /// The value as JSON.
    public func encode(_ value: some Encodable) throws -> JSONValue {
        let root = JSONValueEncodingNode()
        try root.store(value, codingPath: [])
        return root.resolved
    }
}

/// One value under construction: a leaf, or an object or array whose members are nodes.
final class JSONValueEncodingNode {
    enum Content {
        case empty
        case leaf(JSONValue)
        case object([String: JSONValueEncodingNode])
        case array([JSONValueEncodingNode])
    }

    var content = Content.empty

    var resolved: JSONValue {
        switch content {
        case .empty: .object([:])
        case .leaf(let value): value
        case .object(let members): .object(members.mapValues(\.resolved))
        case .array(let items): .array(items.map(\.resolved))
        }
    }

    func store(_ value: some Encodable, codingPath: [any CodingKey]) throws {
        switch value {
        case let json as JSONValue: content = .leaf(json)
        case let text as String: content = .leaf(.string(text))
        case let flag as Bool: content = .leaf(.bool(flag))
        case let number as Int: content = .leaf(.integer(number))
        case let number as Int64: content = .leaf(.integer(Int(number)))
        case let number as Double: content = .leaf(.number(number))
        default: try value.encode(to: JSONValueEncodingEncoder(node: self, codingPath: codingPath))
        }
    }

    func member(_ key: String) -> JSONValueEncodingNode {
        var members: [String: JSONValueEncodingNode] = [:]
        if case .object(let existing) = content { members = existing }
        if let node = members[key] { return node }
        let node = JSONValueEncodingNode()
        members[key] = node
        content = .object(members)
        return node
    }

    func appended() -> JSONValueEncodingNode {
        var items: [JSONValueEncodingNode] = []
        if case .array(let existing) = content { items = existing }
        let node = JSONValueEncodingNode()
        items.append(node)
        content = .array(items)
        return node
    }

    func becomeObject() {
        if case .object = content { return }
        content = .object([:])
    }

    func becomeArray() {
        if case .array = content { return }
        content = .array([])
    }
}

struct JSONValueEncodingEncoder: Encoder {
    let node: JSONValueEncodingNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeArray()
        return JSONValueUnkeyedContainer(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        JSONValueSingleContainer(node: node, codingPath: codingPath)
    }
}

struct JSONValueKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: JSONValueEncodingNode
    var codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws {
        node.member(key.stringValue).content = .leaf(.null)
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try node.member(key.stringValue).store(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let child = node.member(key.stringValue)
        child.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = node.member(key.stringValue)
        child.becomeArray()
        return JSONValueUnkeyedContainer(node: child, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder {
        JSONValueEncodingEncoder(node: node.member("super"), codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        JSONValueEncodingEncoder(node: node.member(key.stringValue), codingPath: codingPath + [key])
    }
}

struct JSONValueUnkeyedContainer: UnkeyedEncodingContainer {
    let node: JSONValueEncodingNode
    var codingPath: [any CodingKey]
    var count: Int {
        if case .array(let items) = node.content { return items.count }
        return 0
    }

    mutating func encodeNil() throws {
        node.appended().content = .leaf(.null)
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.appended().store(value, codingPath: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let child = node.appended()
        child.becomeObject()
        return KeyedEncodingContainer(JSONValueKeyedContainer<NestedKey>(node: child, codingPath: codingPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let child = node.appended()
        child.becomeArray()
        return JSONValueUnkeyedContainer(node: child, codingPath: codingPath)
    }

    mutating func superEncoder() -> any Encoder {
        JSONValueEncodingEncoder(node: node.appended(), codingPath: codingPath)
    }
}

struct JSONValueSingleContainer: SingleValueEncodingContainer {
    let node: JSONValueEncodingNode
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { node.content = .leaf(.null) }
    mutating func encode(_ value: Bool) throws { node.content = .leaf(.bool(value)) }
    mutating func encode(_ value: String) throws { node.content = .leaf(.string(value)) }
    mutating func encode(_ value: Double) throws { node.content = .leaf(.number(value)) }
    mutating func encode(_ value: Float) throws { node.content = .leaf(.number(Double(value))) }
    mutating func encode(_ value: Int) throws { node.content = .leaf(.integer(value)) }
    mutating func encode(_ value: Int64) throws { node.content = .leaf(.integer(Int(value))) }
    mutating func encode(_ value: Int32) throws { node.content = .leaf(.integer(Int(value))) }
    mutating func encode(_ value: UInt32) throws { node.content = .leaf(.integer(Int(value))) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.store(value, codingPath: codingPath)
    }
}
