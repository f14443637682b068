import Foundation
import Sagas
import Testing

/// JSON numbers pass through parse, serialization and templates byte for byte, whatever their size (issue 14,
/// item 10).
@Suite struct JSONNumberTests {
    static func resolve(_ text: String, _ context: Template.Context) throws -> JSONValue {
        try Template.resolve(.string(text), in: context).value
    }

    static let numbers = [
        "12345678901234567890", "-12345678901234567890", "123456789012345678901234567890.123456789",
        "0.1000000000000000055511151231257827", "1.0", "1e3", "1E+3", "2.50", "-0", "1e400", "9007199254740993",
        "0.1", "1.5", "-3", "250", "9223372036854775807", "9223372036854775808",
    ]

    @Test(arguments: numbers)
    func numbersPassThroughByteForByte(number: String) throws {
        let text = #"{"list":[\#(number)],"n":\#(number)}"#
        let value = try JSONValue(parsing: text)
        #expect(value.jsonString == text)
        #expect(try JSONValue(parsing: value.jsonString) == value)
        // Through a template: alone it keeps its JSON value, in text it is its JSON text.
        let c = Template.Context(input: value, outputs: [:], sagaID: "s-1", workflow: "w@1", environment: [:])
        let alone = try Self.resolve("${input.n}", c)
        #expect(alone.jsonString == number)
        #expect(try Self.resolve("id-${input.n}", c) == .string("id-\(number)"))
        #expect(try Template.resolve(["body": ["amount": "${input.list.0}"]], in: c).value.jsonString == #"{"body":{"amount":\#(number)}}"#)
    }

    @Test func bigNumbersStillReadAsNumbers() throws {
        let big = try JSONValue(parsing: "12345678901234567890")
        #expect(big.typeName == "integer")
        #expect(big.doubleValue == 12345678901234567890)
        #expect(try JSONValue(parsing: "2.0").intValue == 2)
        #expect(try JSONValue(parsing: "2.5").typeName == "number")
        let schema = InputSchema(types: ["object"], properties: ["n": InputSchema(types: ["integer"])])
        #expect(schema.validate(["n": big]).isEmpty)
    }
}
