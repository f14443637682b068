import Foundation
import SagaExampleShopKit

// saga-example-shop: the shop service that Workflows/shop-order.json drives (see Docs/http.md).
//
//     saga-example-shop [--port N] [--fail "POST /payments=503"]... [--hang "POST /shipments"]... [--retry-after S]
//
// --port 0 (the default) picks a free port. Prints `listening on 127.0.0.1:PORT` once it listens.

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("saga-example-shop: \(message)\n".utf8))
    FileHandle.standardError.write(Data(
        "usage: saga-example-shop [--port N] [--fail 'METHOD /path=STATUS']... [--hang 'METHOD /path']... [--retry-after S]\n".utf8
    ))
    exit(64)
}

var port = 0
var control = ExampleShop.Control()
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    func value() -> String {
        guard let v = arguments.popFirst() else { usage("\(argument) needs a value") }
        return v
    }
    switch argument {
    case "--port":
        guard let p = Int(value()), (0...65535).contains(p) else { usage("--port needs a number from 0 to 65535") }
        port = p
    case "--fail":
        let rule = value()
        guard let eq = rule.lastIndex(of: "="), let status = Int(rule[rule.index(after: eq)...]),
            (100...599).contains(status)
        else { usage("--fail needs 'METHOD /path=STATUS'") }
        control.fail[String(rule[..<eq])] = status
    case "--hang":
        control.hang.insert(value())
    case "--retry-after":
        guard let s = Int(value()), s >= 0 else { usage("--retry-after needs a number of seconds") }
        control.retryAfter = s
    case "-h", "--help":
        usage("the example shop service for Workflows/shop-order.json")
    default:
        usage("unknown argument \(argument)")
    }
}

let shop = ExampleShop(control: control)
let bound: Int
do {
    bound = try await shop.start(port: port)
} catch {
    FileHandle.standardError.write(Data("saga-example-shop: cannot listen on 127.0.0.1:\(port): \(error)\n".utf8))
    exit(1)
}
// Unbuffered, so that a parent reading the pipe sees it at once.
FileHandle.standardOutput.write(Data("listening on 127.0.0.1:\(bound)\n".utf8))
while true {
    try? await Task.sleep(for: .seconds(3600))
}
