public import Foundation

/// A JSON value: saga inputs, step outputs, action specifications and journal payloads.
///
/// Integers that fit in `Int` stay integers; other numbers are `Double` when the `Double` writes back exactly the
/// text that was parsed, and otherwise keep their text (`.decimal`): a number passes through parse, journal and
/// templates byte for byte, whatever its size or precision. Objects are unordered; when a value is serialized,
/// object keys are written in sorted order so that the same value always has the same text.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    /// A JSON number kept as its text (valid JSON number syntax), because neither `Int` nor `Double` would write it
    /// back as given: `12345678901234567890`, `0.1000000000000000055511151231257827`, `1.0`, `1e3`, `-0`.
    case decimal(String)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The largest magnitude below which every whole `Double` is exact: 2^53.
    static let exactIntegerLimit: Double = 9_007_199_254_740_992

    /// `d` as an `Int` when it is a whole number that a `Double` holds exactly (|d| < 2^53); `nil` otherwise. The
    /// one rule for "a whole number" in type names, schema checks, integer reads and printing.
    public static func exactInteger(_ d: Double) -> Int? {
        guard d.isFinite, d.rounded() == d, abs(d) < exactIntegerLimit else { return nil }
        return Int(d)
    }

    /// The value's JSON type name, as JSON Schema spells it (`integer` for whole numbers).
    public var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number(let d): JSONValue.exactInteger(d) != nil ? "integer" : "number"
        case .decimal(let text):
            !text.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) ? "integer"
                : Double(text).flatMap(JSONValue.exactInteger) != nil ? "integer" : "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .integer(let i): return i
        case .number(let d): return JSONValue.exactInteger(d)
        case .decimal(let text):
            if let i = Int(text) { return i }
            return Double(text).flatMap(JSONValue.exactInteger)
        default: return nil
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        case .decimal(let text): return Double(text)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// Member `key` of an object, or `nil`.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// The value at a path of object keys and array indexes (`["items", "0", "sku"]`), or `nil` when it is missing.
    public func value(at path: some Sequence<String>) -> JSONValue? {
        var current = self
        for component in path {
            switch current {
            case .object(let o):
                guard let next = o[component] else { return nil }
                current = next
            case .array(let a):
                guard let index = Int(component), a.indices.contains(index) else { return nil }
                current = a[index]
            default:
                return nil
            }
        }
        return current
    }
}

// MARK: - Serialization

extension JSONValue {
    /// Compact JSON text with sorted object keys.
    public var jsonString: String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        write(to: &out, pretty: false, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// Indented JSON text with sorted object keys, for people.
    public var prettyJSONString: String {
        var out: [UInt8] = []
        write(to: &out, pretty: true, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value as text for a person or a command line: strings without quotes, everything else as compact JSON.
    public var displayString: String {
        if case .string(let s) = self { return s }
        return jsonString
    }

    // Written as UTF-8 bytes: appending to a `String` one scalar at a time cost more than the rest of a journal
    // write.
    private func write(to out: inout [UInt8], pretty: Bool, indent: Int) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let i): out.append(contentsOf: String(i).utf8)
        case .number(let d):
            if d.isNaN || d.isInfinite {
                out.append(contentsOf: "null".utf8)
            } else if let whole = JSONValue.exactInteger(d) {
                out.append(contentsOf: String(whole).utf8)
            } else {
                out.append(contentsOf: "\(d)".utf8)
            }
        case .decimal(let text): out.append(contentsOf: text.utf8)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let a):
            if a.isEmpty { out.append(contentsOf: "[]".utf8); return }
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(indent + 1, to: &out) }
                v.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(indent, to: &out) }
            out.append(UInt8(ascii: "]"))
        case .object(let o):
            if o.isEmpty { out.append(contentsOf: "{}".utf8); return }
            out.append(UInt8(ascii: "{"))
            for (i, entry) in o.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { JSONValue.newline(indent + 1, to: &out) }
                JSONValue.writeString(entry.key, to: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                entry.value.write(to: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty { JSONValue.newline(indent, to: &out) }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ indent: Int, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * indent))
    }

    /// A JSON string literal: `"` and `\` escaped, and the control characters below U+0020 (`\n`, `\r`, `\t` by
    /// name, the others as `\u00XX`). Everything else, non-ASCII included, is copied as UTF-8.
    private static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var runStart = 0
            for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x22 || byte == 0x5C {
                if runStart < i { out.append(contentsOf: bytes[runStart..<i]) }
                runStart = i + 1
                switch byte {
                case 0x22: out.append(contentsOf: "\\\"".utf8)
                case 0x5C: out.append(contentsOf: "\\\\".utf8)
                case 0x0A: out.append(contentsOf: "\\n".utf8)
                case 0x0D: out.append(contentsOf: "\\r".utf8)
                case 0x09: out.append(contentsOf: "\\t".utf8)
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: "\\u00".utf8)
                    out.append(hex[Int(byte >> 4)])
                    out.append(hex[Int(byte & 0xF)])
                }
            }
            if runStart < bytes.count { out.append(contentsOf: bytes[runStart...]) }
        }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: - Parsing (for data at run time: inputs, outputs, journal rows)

extension JSONValue {
    /// Parses JSON text.
    ///
    /// - Throws: `SagaError` with code `.invalidJSON` and the position of the first problem.
    public init(parsing text: String) throws(SagaError) {
        try self.init(parsing: Data(text.utf8))
    }

    /// Parses JSON data (UTF-8).
    ///
    /// - Throws: `SagaError` with code `.invalidJSON` and the position of the first problem.
    public init(parsing data: Data) throws(SagaError) {
        do {
            let node = try JSONParser.parse(data)
            self = node.value
        } catch {
            throw SagaError(.invalidJSON, "invalid JSON at line \(error.line), column \(error.column): \(error.message)")
        }
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .integer(i)
        } else if let d = try? container.decode(Double.self) {
            self = .number(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .integer(let i): try container.encode(i)
        case .number(let d): try container.encode(d)
        case .decimal(let text):
            // Codable has no number type that keeps any text: the nearest `Double`, or the text when out of range.
            if let d = Double(text), d.isFinite { try container.encode(d) } else { try container.encode(text) }
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
    public init(floatLiteral value: Double) { self = .number(value) }
}
