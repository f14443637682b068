import Sagas
import Testing

/// The JSON text the journal stores: compact, keys sorted, strings escaped; inputs compare by this text, so it must
/// not change between versions.
@Suite struct JSONValueTests {
    @Test func compactTextSortsKeysAndEscapes() throws {
        let value: JSONValue = .object([
            "b": .array([.integer(-3), .number(1.5), .number(2), .bool(true), .null]),
            "a": .string("quote \" backslash \\ newline \n tab \t return \r bell \u{07} été 😀"),
            "": .object([:]),
            "é": .array([]),
        ])
        #expect(
            value.jsonString
                == #"{"":{},"a":"quote \" backslash \\ newline \n tab \t return \r bell \u0007 été 😀","b":[-3,1.5,2,true,null],"é":[]}"#
        )
        #expect(try JSONValue(parsing: value.jsonString) == value.normalizedForTest)
    }

    @Test func everyControlCharacterIsEscaped() throws {
        let controls = String(String.UnicodeScalarView((0..<0x20).map { Unicode.Scalar(UInt8($0)) }))
        let text = JSONValue.string(controls).jsonString
        #expect(!text.utf8.contains { $0 < 0x20 })
        #expect(text.contains(#"\u001f"#) && text.contains(#"\u0000"#) && text.contains(#"\n"#))
        #expect(try JSONValue(parsing: text) == .string(controls))
    }

    @Test func prettyTextIndentsByTwoSpaces() {
        let value: JSONValue = .object(["k": .array([.integer(1), .object(["x": .null])])])
        #expect(value.prettyJSONString == "{\n  \"k\": [\n    1,\n    {\n      \"x\": null\n    }\n  ]\n}")
    }
}

extension JSONValue {
    /// What parsing the compact text gives back: a whole number written as a double reads back as an integer.
    fileprivate var normalizedForTest: JSONValue {
        switch self {
        case .number(let d) where d.rounded() == d: return .integer(Int(d))
        case .array(let a): return .array(a.map(\.normalizedForTest))
        case .object(let o): return .object(o.mapValues(\.normalizedForTest))
        default: return self
        }
    }
}
