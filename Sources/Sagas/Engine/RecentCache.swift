/// A bounded cache for values keyed by large keys (a workflow definition, a definition's text), in a `Mutex`.
///
/// Hashing such a key costs as much as the rest of starting a saga, and the key is nearly always the value looked
/// up last: `lookup` first compares with that one, which for the same instance (shared storage) is immediate.
package struct RecentCache<Key: Hashable, Value> {
    private var entries: [Key: Value] = [:]
    private var last: (key: Key, value: Value)?
    private let limit: Int

    package init(limit: Int = 256) {
        self.limit = limit
    }

    package mutating func lookup(_ key: Key) -> Value? {
        if let last, last.key == key { return last.value }
        guard let value = entries[key] else { return nil }
        last = (key, value)
        return value
    }

    package mutating func insert(_ value: Value, for key: Key) {
        if entries.count >= limit { entries.removeAll() }
        entries[key] = value
        last = (key, value)
    }
}
