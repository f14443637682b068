public import Foundation

/// A position in a source text: 1-based line and column (columns count Unicode scalars), and a byte offset.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int
    public var offset: Int

    public init(line: Int, column: Int, offset: Int = 0) {
        self.line = line
        self.column = column
        self.offset = offset
    }

    public var description: String { "\(line):\(column)" }
}

/// A JSON value with the position of every value and key, as the validator needs them.
public struct JSONNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case null
        case bool(Bool)
        case integer(Int)
        case number(Double)
        /// A number kept as its text (see `JSONValue.decimal`).
        case decimal(String)
        case string(String)
        case array([JSONNode])
        /// Members in file order; duplicate keys are kept so that the validator can report them.
        case object([JSONMember])
    }

    public var kind: Kind
    public var location: SourceLocation

    public init(kind: Kind, location: SourceLocation) {
        self.kind = kind
        self.location = location
    }

    /// The plain value (for duplicate keys, the last one wins).
    public var value: JSONValue {
        switch kind {
        case .null: .null
        case .bool(let b): .bool(b)
        case .integer(let i): .integer(i)
        case .number(let d): .number(d)
        case .decimal(let text): .decimal(text)
        case .string(let s): .string(s)
        case .array(let a): .array(a.map(\.value))
        case .object(let members):
            .object(Dictionary(members.map { ($0.key, $0.value.value) }, uniquingKeysWith: { _, last in last }))
        }
    }

    /// The member named `key` of an object node (the first, if it is duplicated).
    public func member(_ key: String) -> JSONMember? {
        if case .object(let members) = kind { return members.first { $0.key == key } }
        return nil
    }
}

/// One `"key": value` member of a JSON object.
public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var keyLocation: SourceLocation
    public var value: JSONNode

    public init(key: String, keyLocation: SourceLocation, value: JSONNode) {
        self.key = key
        self.keyLocation = keyLocation
        self.value = value
    }
}

/// A syntax error in JSON text, with its position.
public struct JSONSyntaxError: Error, Sendable, Hashable {
    public var message: String
    public var line: Int
    public var column: Int
}

/// A strict JSON parser (RFC 8259) that records positions and refuses input deeper than `maxDepth`.
public enum JSONParser {
    /// The default nesting limit.
    public static let defaultMaxDepth = 64

    /// Parses one JSON value that fills `data` (whitespace aside).
    public static func parse(_ data: Data, maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError) -> JSONNode {
        var parser = Parser(bytes: [UInt8](data), maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    /// Parses one JSON value from text.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONSyntaxError) -> JSONNode {
        try parse(Data(text.utf8), maxDepth: maxDepth)
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0
        var line = 1
        var lineStart = 0
        var depth = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        // Column cache: the index only moves forward, so columns are counted incrementally (a 1 MiB file on one
        // line must not cost a scan from the line start for every value).
        var cachedIndex = 0
        var cachedColumn = 1
        var cachedLineStart = -1

        var location: SourceLocation {
            mutating get {
                if cachedLineStart != lineStart || cachedIndex > index {
                    cachedLineStart = lineStart
                    cachedIndex = lineStart
                    cachedColumn = 1
                }
                // Columns count Unicode scalars: skip UTF-8 continuation bytes.
                while cachedIndex < index {
                    if bytes[cachedIndex] & 0xC0 != 0x80 { cachedColumn += 1 }
                    cachedIndex += 1
                }
                return SourceLocation(line: line, column: cachedColumn, offset: index)
            }
        }

        mutating func error(_ message: String, at loc: SourceLocation? = nil) -> JSONSyntaxError {
            let l = loc ?? location
            return JSONSyntaxError(message: message, line: l.line, column: l.column)
        }

        mutating func parseDocument() throws(JSONSyntaxError) -> JSONNode {
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3; lineStart = 3 }
            skipWhitespace()
            if index >= bytes.count { throw error("the file is empty: expected a JSON value") }
            let node = try parseValue()
            skipWhitespace()
            if index < bytes.count { throw error("unexpected \(describe(bytes[index])) after the end of the JSON value") }
            return node
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0D: index += 1
                case 0x0A:
                    index += 1
                    line += 1
                    lineStart = index
                default: return
                }
            }
        }

        func describe(_ byte: UInt8) -> String {
            if byte >= 0x21 && byte < 0x7F { return "'\(Character(UnicodeScalar(byte)))'" }
            return "byte 0x" + String(byte, radix: 16)
        }

        mutating func parseValue() throws(JSONSyntaxError) -> JSONNode {
            guard index < bytes.count else { throw error("unexpected end of file: expected a value") }
            let loc = location
            switch bytes[index] {
            case UInt8(ascii: "{"): return try parseObject(loc)
            case UInt8(ascii: "["): return try parseArray(loc)
            case UInt8(ascii: "\""): return JSONNode(kind: .string(try parseString()), location: loc)
            case UInt8(ascii: "t"): try expectWord("true"); return JSONNode(kind: .bool(true), location: loc)
            case UInt8(ascii: "f"): try expectWord("false"); return JSONNode(kind: .bool(false), location: loc)
            case UInt8(ascii: "n"): try expectWord("null"); return JSONNode(kind: .null, location: loc)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber(loc)
            default: throw error("unexpected \(describe(bytes[index])): expected a value")
            }
        }

        mutating func expectWord(_ word: StaticString) throws(JSONSyntaxError) {
            let w = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
            for b in w {
                guard index < bytes.count, bytes[index] == b else {
                    throw error("invalid literal: expected '\(word)'")
                }
                index += 1
            }
        }

        mutating func enter(_ loc: SourceLocation) throws(JSONSyntaxError) {
            depth += 1
            if depth > maxDepth { throw error("nesting is deeper than \(maxDepth) levels", at: loc) }
        }

        mutating func parseObject(_ loc: SourceLocation) throws(JSONSyntaxError) -> JSONNode {
            try enter(loc)
            index += 1
            var members: [JSONMember] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                depth -= 1
                return JSONNode(kind: .object(members), location: loc)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of file: the object opened at \(loc) is not closed") }
                guard bytes[index] == UInt8(ascii: "\"") else {
                    if bytes[index] == UInt8(ascii: "}") { throw error("trailing comma before '}'") }
                    throw error("unexpected \(describe(bytes[index])): expected a member name in double quotes")
                }
                let keyLoc = location
                let key = try parseString()
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of file: expected ':'") }
                guard bytes[index] == UInt8(ascii: ":") else { throw error("unexpected \(describe(bytes[index])): expected ':' after the member name") }
                index += 1
                skipWhitespace()
                let value = try parseValue()
                members.append(JSONMember(key: key, keyLocation: keyLoc, value: value))
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of file: the object opened at \(loc) is not closed") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; break }
                throw error("unexpected \(describe(bytes[index])): expected ',' or '}'")
            }
            depth -= 1
            return JSONNode(kind: .object(members), location: loc)
        }

        mutating func parseArray(_ loc: SourceLocation) throws(JSONSyntaxError) -> JSONNode {
            try enter(loc)
            index += 1
            var elements: [JSONNode] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                depth -= 1
                return JSONNode(kind: .array(elements), location: loc)
            }
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of file: the array opened at \(loc) is not closed") }
                if bytes[index] == UInt8(ascii: "]") { throw error("trailing comma before ']'") }
                elements.append(try parseValue())
                skipWhitespace()
                guard index < bytes.count else { throw error("unexpected end of file: the array opened at \(loc) is not closed") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; break }
                throw error("unexpected \(describe(bytes[index])): expected ',' or ']'")
            }
            depth -= 1
            return JSONNode(kind: .array(elements), location: loc)
        }

        mutating func parseString() throws(JSONSyntaxError) -> String {
            let start = location
            index += 1
            var scalars = String.UnicodeScalarView()
            while true {
                guard index < bytes.count else { throw error("unexpected end of file: the string started at \(start) is not closed") }
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "\""):
                    index += 1
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("unexpected end of file in an escape sequence") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        var code = try parseHex4()
                        if (0xD800...0xDBFF).contains(code) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"),
                                bytes[index + 1] == UInt8(ascii: "u")
                            else { throw error("a high surrogate escape must be followed by a low surrogate") }
                            index += 2
                            let low = try parseHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate escape") }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(code) {
                            throw error("unpaired low surrogate escape")
                        }
                        guard let scalar = Unicode.Scalar(code) else { throw error("invalid Unicode escape") }
                        scalars.append(scalar)
                    default:
                        index -= 1
                        throw error("invalid escape sequence '\\\(Character(UnicodeScalar(e)))'")
                    }
                case 0x00..<0x20:
                    throw error(b == 0x0A ? "a string may not span lines: unescaped line break" : "unescaped control character in a string")
                case 0x00..<0x80:
                    scalars.append(Unicode.Scalar(b))
                    index += 1
                default:
                    scalars.append(try parseUTF8Scalar())
                }
            }
        }

        mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("incomplete \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw error("invalid hexadecimal digit in a \\u escape")
                }
                value = value * 16 + digit
                index += 1
            }
            return value
        }

        mutating func parseUTF8Scalar() throws(JSONSyntaxError) -> Unicode.Scalar {
            let b0 = bytes[index]
            let count: Int
            var value: UInt32
            switch b0 {
            case 0xC2...0xDF: count = 2; value = UInt32(b0 & 0x1F)
            case 0xE0...0xEF: count = 3; value = UInt32(b0 & 0x0F)
            case 0xF0...0xF4: count = 4; value = UInt32(b0 & 0x07)
            default: throw error("invalid UTF-8 byte 0x\(String(b0, radix: 16))")
            }
            guard index + count <= bytes.count else { throw error("truncated UTF-8 sequence") }
            for k in 1..<count {
                let b = bytes[index + k]
                guard b & 0xC0 == 0x80 else { throw error("invalid UTF-8 sequence") }
                value = (value << 6) | UInt32(b & 0x3F)
            }
            let minimum: UInt32 = count == 2 ? 0x80 : count == 3 ? 0x800 : 0x10000
            guard value >= minimum, let scalar = Unicode.Scalar(value) else { throw error("invalid UTF-8 sequence") }
            index += count
            return scalar
        }

        mutating func parseNumber(_ loc: SourceLocation) throws(JSONSyntaxError) -> JSONNode {
            let start = index
            var isInteger = true
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw error("invalid number: leading zeros are not allowed") }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                isInteger = false
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit after '.'") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                isInteger = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("invalid number: expected a digit in the exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            // A number keeps its exact text unless `Int` or `Double` writes it back the same: 12345678901234567890
            // must not become 1.2345678901234567e+19 on its way to a compensation.
            if isInteger, let i = Int(text), String(i) == text { return JSONNode(kind: .integer(i), location: loc) }
            if !isInteger, let d = Double(text), d.isFinite, JSONValue.number(d).jsonString == text {
                return JSONNode(kind: .number(d), location: loc)
            }
            return JSONNode(kind: .decimal(text), location: loc)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    }
}
