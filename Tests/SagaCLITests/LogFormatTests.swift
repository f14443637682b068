import Foundation
import Sagas
import Testing

/// `--log-format json`: one JSON object per line with time, level, message and the saga's metadata.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct LogFormatTests {
    @Test func jsonLogsAreOneObjectPerLineWithTheSagaMetadata() throws {
        let box = try CLISandbox()
        let run = try box.run([
            "run", "order", "--id", "o-9", "--log-format", "json",
            "--input", #"{"orderId": "o-9", "failAt": "charge-payment"}"#,
        ])
        #expect(run.status == 1, "\(run)")
        let lines = run.stderr.split(separator: "\n").map(String.init)
        #expect(!lines.isEmpty, "\(run)")
        var failed: JSONValue?
        for line in lines {
            let object = try JSONValue(parsing: line)
            #expect(object["time"]?.stringValue?.hasSuffix("Z") == true, "\(line)")
            #expect(object["level"]?.stringValue != nil && object["message"]?.stringValue != nil, "\(line)")
            if object["message"] == "step failed" { failed = object }
        }
        let step = try #require(failed, "\(run.stderr)")
        #expect(step["saga.id"] == "o-9")
        #expect(step["saga.step"] == "charge-payment")
        #expect(step["level"] == "warning")
        #expect(step["error"]?.stringValue?.contains("failed on demand") == true)
        // The text form stays the default; an unknown format is refused.
        let text = try box.run(["run", "order", "--input", #"{"orderId": "o-10", "failAt": "ship"}"#])
        #expect(text.stderr.contains("saga.id=") && !text.stderr.hasPrefix("{"), "\(text)")
        let bad = try box.run(["list", "--log-format", "xml"])
        #expect(bad.status == 64 && bad.stderr.contains("unknown log format 'xml'"), "\(bad)")
    }
}
