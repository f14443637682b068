import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Bad workflows, bad inputs and bad outputs through the CLI: never a crash, always an exit code of the table and
/// a positioned or one-line error; what fails at run time is journaled with a message naming saga and step.
@Suite(.serialized, .timeLimit(.minutes(4)))
struct BadInputTests {
    /// A valid workflow to mutate: its commands are harmless (`/bin/echo`), so a mutation that stays valid runs.
    static let base = """
        {"name": "mutant", "version": 1,
         "description": "A workflow for mutation tests: \\u00e9t\\u00e9, tabs\\t, numbers 1.5e3.",
         "input": {"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}},
         "defaults": {"retry": {"maxAttempts": 2, "initialInterval": "10ms", "maxInterval": "20ms"}, "timeout": "5s"},
         "steps": [
          {"name": "reserve", "action": {"command": {"argv": ["/bin/echo", "{\\"r\\": 1}"]}},
           "compensation": {"command": {"argv": ["/bin/echo", "undo ${input.orderId}"]}}},
          {"name": "charge", "after": ["reserve"], "action": {"command": {"argv": ["/bin/echo", "${steps.reserve.output.r}"]}},
           "retry": {"maxAttempts": 3, "initialInterval": "5ms"}},
          {"name": "ship", "after": ["charge"], "kind": "pivot", "action": {"command": {"argv": ["/bin/echo", "shipped"]}}}
         ]}
        """

    /// One mutation of `base`, chosen by `n`.
    static func mutant(_ n: Int, using rng: inout SplitMix64) -> Data {
        var bytes = Array(base.utf8)
        func position() -> Int { Int.random(in: 0..<bytes.count, using: &rng) }
        switch n % 10 {
        case 0:  // truncated
            bytes = Array(bytes.prefix(position()))
        case 1:  // bit flips
            for _ in 0..<Int.random(in: 1...4, using: &rng) { bytes[position()] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng)) }
        case 2:  // huge and odd numbers in place of a number
            let numbers = ["1e999999", "-1e999999", "99999999999999999999999999999", "0.0000000000000000000000001",
                           "-0", "1e-400", "18446744073709551616", "9223372036854775808", "-9223372036854775809", "NaN"]
            let text = String(decoding: bytes, as: UTF8.self)
            let targets = ["2,", "3,", "1.5e3", "1}", "\"maxAttempts\": 2"]
            let target = targets.randomElement(using: &rng)!
            let number = numbers.randomElement(using: &rng)!
            let replacement = target.hasPrefix("\"maxAttempts\"") ? "\"maxAttempts\": \(number)" : number + (target.hasSuffix(",") ? "," : target.hasSuffix("}") ? "}" : "")
            bytes = Array(text.replacingOccurrences(of: target, with: replacement).utf8)
        case 3:  // deep nesting
            let depth = [65, 100, 1000, 100_000].randomElement(using: &rng)!
            let open = Int.random(in: 0..<2, using: &rng) == 0 ? "[" : "{\"a\":"
            let close = open == "[" ? "]" : "}"
            let nested = String(repeating: open, count: depth) + "1" + String(repeating: close, count: Int.random(in: 0...depth, using: &rng))
            let text = String(decoding: bytes, as: UTF8.self)
            bytes = Array(text.replacingOccurrences(of: "\"reserve\", \"action\"", with: "\"reserve\", \"x\": \(nested), \"action\"").utf8)
        case 4:  // invalid UTF-8
            let bad: [[UInt8]] = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x00]]
            bytes.insert(contentsOf: bad.randomElement(using: &rng)!, at: position())
        case 5:  // enormous strings (under and over the 1 MiB file limit)
            let size = [4096, 200_000, 1_100_000].randomElement(using: &rng)!
            let text = String(decoding: bytes, as: UTF8.self)
            bytes = Array(text.replacingOccurrences(of: "A workflow for mutation tests", with: String(repeating: "x", count: size)).utf8)
        case 6:  // a byte deleted or duplicated
            let i = position()
            if Int.random(in: 0..<2, using: &rng) == 0 { bytes.remove(at: i) } else { bytes.insert(bytes[i], at: i) }
        case 7:  // a random token swapped in
            let tokens = ["null", "true", "[]", "{}", "\"\"", ",", ":", "\"${input.\"", "\"${steps.nope.output}\"", "\"\\ud800\"", "\"\\u0000\""]
            bytes.insert(contentsOf: Array(tokens.randomElement(using: &rng)!.utf8), at: position())
        case 8:  // lines reshuffled
            var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            lines.shuffle(using: &rng)
            bytes = Array(lines.joined(separator: "\n").utf8)
        default:  // random bytes in a window
            let i = position()
            for j in i..<min(bytes.count, i + Int.random(in: 1...16, using: &rng)) { bytes[j] = UInt8.random(in: 0...255, using: &rng) }
        }
        return Data(bytes)
    }

    /// Whether a line of `validate` output is `FILE:LINE:COLUMN: error|warning: MESSAGE` for a file in `dir`.
    static func isPositioned(_ line: Substring, in dir: String) -> Bool {
        guard line.hasPrefix(dir + "/") else { return false }
        let rest = line.dropFirst(dir.count + 1)
        let parts = rest.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].hasSuffix(".json"), Int(parts[1]) != nil, Int(parts[2]) != nil else { return false }
        return parts[3].hasPrefix(" error: ") || parts[3].hasPrefix(" warning: ")
    }

    @Test func twoThousandMutatedWorkflowsThroughValidate() throws {
        let seed = SplitMix64.seedFromEnvironment()
        var rng = SplitMix64(seed: seed)
        let box = try CLISandbox()
        let dir = "\(box.root)/mutants"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var broken: Set<String> = []
        for n in 0..<2000 {
            let path = "\(dir)/m\(String(format: "%04d", n)).json"
            let data = Self.mutant(n, using: &rng)
            try data.write(to: URL(fileURLWithPath: path))
            // The loader in this process must not crash either, and tells which files have errors.
            if WorkflowLoader.load(data: data, file: path, kinds: .standard).hasErrors { broken.insert(path) }
        }
        let result = try box.run(["validate", dir], timeout: 120)
        #expect(result.status == 1, "seed \(seed): \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        let unpositioned = lines.filter { !Self.isPositioned($0, in: dir) }
        #expect(unpositioned.isEmpty, "seed \(seed): lines without a position: \(unpositioned.prefix(5))")
        let named = Set(lines.filter { $0.contains(": error: ") }.compactMap { $0.split(separator: ":").first.map(String.init) })
        #expect(broken.isSubset(of: named), "seed \(seed): files with errors that validate did not report: \(broken.subtracting(named).sorted().prefix(5))")
        #expect(result.stderr.hasPrefix("2000 files checked"), "\(result.stderr)")
        print("validate: seed \(seed), 2000 mutated files, \(broken.count) with errors, \(lines.count) diagnostics")
    }

    @Test func mutatedWorkflowsThroughRun() throws {
        let seed = SplitMix64.seedFromEnvironment()
        var rng = SplitMix64(seed: seed)
        let box = try CLISandbox()
        var exits: [Int32: Int] = [:]
        // Batched: one shell runs every `saga run` (a process per run from the test would be slower still).
        var script = "cd \(box.root)\n"
        let count = 150
        for n in 0..<count {
            let path = "\(box.root)/mutant-\(n).json"
            try Self.mutant(n, using: &rng).write(to: URL(fileURLWithPath: path))
            script += "'\(CLISandbox.binary)' run '\(path)' --input '{\"orderId\": \"o-\(n)\"}' >/dev/null 2>err-\(n).txt; echo \"\(n) $?\"\n"
        }
        let runner = "\(box.root)/runs.sh"
        try Data(script.utf8).write(to: URL(fileURLWithPath: runner))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [runner]
        process.environment = box.environment
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == count)
        for line in lines {
            let parts = line.split(separator: " ")
            guard parts.count == 2, let n = Int(parts[0]), let status = Int32(parts[1]) else { continue }
            exits[status, default: 0] += 1
            // A shell reports death by a signal as 128 + N.
            #expect([0, 1, 2, 3].contains(status), "seed \(seed): mutant \(n) exited \(status)")
            let stderr = (try? String(contentsOfFile: "\(box.root)/err-\(n).txt", encoding: .utf8)) ?? ""
            // Log lines (`2026-…T… warning saga: …`) may precede the error; the error itself is one line.
            let isLog = { (line: Substring) in line.count > 20 && line.dropFirst(4).hasPrefix("-") && line.dropFirst(10).hasPrefix("T") }
            for errorLine in stderr.split(separator: "\n") where status != 0 && !isLog(errorLine) {
                let ok = errorLine.hasPrefix("error: ") || Self.isPositioned(errorLine, in: box.root)
                #expect(ok, "seed \(seed): mutant \(n): \(errorLine)")
            }
        }
        print("run: seed \(seed), \(count) mutated workflows, exit codes \(exits.sorted { $0.key < $1.key })")
    }

    @Test func inputsThatFailTheSchemaAreRefusedBeforeJournaling() throws {
        let box = try CLISandbox()
        let path = "\(box.root)/mutant.json"
        try Data(Self.base.utf8).write(to: URL(fileURLWithPath: path))
        for input in [#"{}"#, #"{"orderId": 5}"#, #"[1, 2]"#, #""o-1""#, #"{"orderId": null}"#] {
            let result = try box.run(["run", path, "--input", input])
            #expect(result.status == 2, "\(input): \(result)")
            #expect(result.stderr.hasPrefix("error: input for workflow mutant@1 is invalid"), "\(input): \(result)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
        let bad = try box.run(["run", path, "--input", #"{"orderId": "#])
        #expect(bad.status == 2 && bad.stderr.hasPrefix("error: --input: "), "\(bad)")
        let list = try box.run(["list", "--json"])
        #expect(try list.json().arrayValue?.isEmpty == true, "nothing is journaled: \(list)")
    }

    @Test func aFiveMebibyteInputIsRefusedOrJournaledWhole() async throws {
        let box = try CLISandbox()
        let path = "\(box.root)/mutant.json"
        try Data(Self.base.utf8).write(to: URL(fileURLWithPath: path))
        let big = #"{"orderId": "o-big", "blob": ""# + String(repeating: "y", count: 5 << 20) + #""}"#
        let file = "\(box.root)/big.json"
        try Data(big.utf8).write(to: URL(fileURLWithPath: file))
        let result = try box.run(["submit", path, "--id", "big", "--input", "@\(file)"], timeout: 60)
        print("5 MiB input: exit \(result.status), stderr: \(result.stderr.prefix(300))")
        #expect([0, 2].contains(result.status), "\(result.stderr.prefix(500))")
        let store = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        let record = try await store.saga(id: "big")
        if result.status == 0 {
            #expect(record?.input["blob"]?.stringValue?.utf8.count == 5 << 20, "journaled, but not whole")
        } else {
            #expect(result.stderr.hasPrefix("error: ") && result.stderr.split(separator: "\n").count == 1)
            #expect(record == nil, "refused, yet journaled")
        }
    }

    @Test func anOutputTooLargeForTheJournalFailsTheStepForGood() async throws {
        let box = try CLISandbox()
        let script = try box.writeScript("big.sh", #"head -c 2097152 /dev/zero | tr '\0' 'z'"#)
        try box.writeWorkflow("big", commandWorkflow("big", steps: [
            (name: "first", argv: ["/bin/echo", "{}"], extra: #""compensation": {"command": {"argv": ["/bin/echo", "undone"]}}"#),
            (name: "huge", argv: [script], extra: #""after": ["first"]"#),
        ]))
        let result = try box.run(["run", "big", "--id", "big-1", "--json"])
        #expect(result.status == 1, "\(result.stderr)")
        let saga = try result.json()
        #expect(saga["status"] == "compensated")
        let failed = saga.events("step.failed")
        #expect(failed.count == 1, "a permanent failure is not retried: \(saga.eventTypes)")
        #expect(failed.first?["retryable"] == false)
        let message = failed.first?["error"]?.stringValue ?? ""
        #expect(message.contains("larger than"), "\(message)")
        #expect(saga.events("compensation.succeeded").compactMap { $0["step"]?.stringValue } == ["first"])
        print("2 MiB output: \(message)")
    }

    @Test func aTemplateNamingAMissingValueFailsNamingSagaAndStep() throws {
        let box = try CLISandbox()
        try box.writeWorkflow("holes", commandWorkflow("holes", steps: [
            (name: "first", argv: ["/bin/echo", "{}"], extra: #""compensation": {"command": {"argv": ["/bin/echo", "undone"]}}"#),
            (name: "second", argv: ["/bin/echo", "${input.customer.name}"], extra: #""after": ["first"]"#),
        ]))
        let result = try box.run(["run", "holes", "--id", "holes-1", "--input", #"{"customer": {}}"#, "--json"])
        #expect(result.status == 1, "\(result.stderr)")
        let saga = try result.json()
        #expect(saga["status"] == "compensated")
        let failed = saga.events("step.failed")
        #expect(failed.count == 1 && failed.first?["retryable"] == false, "\(saga.eventTypes)")
        let message = failed.first?["error"]?.stringValue ?? ""
        #expect(message.contains("holes-1") && message.contains("second") && message.contains("customer"), "\(message)")
        print("missing template value: \(message)")
    }
}
