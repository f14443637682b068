import Foundation
import Sagas
import Testing

/// Ids an operator could not address afterwards are refused; ids are echoed short.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct SagaIDTests {
    @Test func idsThatStartWithADashOrHoldControlCharactersOrAreTooLongAreRefused() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        let long = String(repeating: "x", count: 10_000)
        for id in ["-x", "--json", "a\u{01}b", "a\nb", long] {
            for command in [["submit", "one", "--id=\(id)"], ["run", "one", "--id=\(id)"]] {
                let result = try box.run(command)
                #expect(result.status == 2, "\(command): \(result)")
                #expect(result.stderr.hasPrefix("error: invalid saga id '"), "\(result)")
                #expect(result.stderr.contains("not starting with '-'"), "\(result)")
                #expect(result.stderr.count < 300, "the id is echoed in full: \(result.stderr.count) characters")
                #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
            }
        }
        #expect(try box.run(["list", "--json"]).json().arrayValue?.isEmpty == true, "nothing was journaled")
        // The longest id that is allowed still works.
        let longest = String(repeating: "y", count: 128)
        #expect(try box.submit(["one", "--id", longest]) == longest)
        #expect(try box.run(["submit", "one", "--id", longest + "y"]).status == 2)
    }

    @Test func idsThatDoNotExistAreEchoedShort() throws {
        let box = try CLISandbox()
        try box.writeScript("ok.sh", #"echo '{}'"#)
        try box.writeWorkflow("one", commandWorkflow("one", steps: [("a", ["./scripts/ok.sh"], #""kind": "readonly""#)]))
        _ = try box.submit(["one", "--id", "known"])
        let long = String(repeating: "z", count: 10_000)
        for command in [["show", long], ["cancel", long], ["resolve", long, "--retry"], ["resolve", "\(long)#3", "--retry"]] {
            let result = try box.run(command)
            #expect(result.status == 3, "\(result.status) \(result.stderr.prefix(200))")
            #expect(result.stderr.count < 300, "echoed in full: \(result.stderr.count) characters")
            #expect(result.stderr.contains("(10000 characters)"), "\(result.stderr.prefix(300))")
        }
        for id in ["", "#3", "known#", "known#x"] {
            let result = try box.run(["resolve", id, "--retry"])
            #expect(result.status == 2, "\(id): \(result)")
            #expect(result.stderr.hasPrefix("error: invalid intervention id"), "\(id): \(result)")
        }
    }
}
