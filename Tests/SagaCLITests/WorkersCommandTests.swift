import Foundation
import Sagas
import Testing

/// `saga workers`: the workers that hold leases, through the real binary.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct WorkersCommandTests {
    @Test func aRunningWorkerIsListedWithItsSagasThenGoneAfterAKill() throws {
        let box = try CLISandbox()
        try box.writeScript("hang.sh", "sleep 30; echo '{}'")
        try box.writeWorkflow(
            "slow", commandWorkflow("slow", steps: [("wait", ["./scripts/hang.sh"], #""kind": "readonly", "timeout": "60s""#)]))
        let empty = try box.run(["workers"])
        #expect(empty.status != 0, "no database yet: \(empty)")
        _ = try box.submit(["slow", "--id", "w-1"])
        _ = try box.submit(["slow", "--id", "w-2"])
        #expect(try box.run(["workers"]).stdout.contains("no worker holds a saga"))

        let worker = try box.start(["worker", "--lease", "30s"])
        defer { worker.signal(SIGKILL) }
        var listed: [JSONValue] = []
        #expect(eventually(timeout: 30) {
            listed = (try? box.run(["workers", "--json"]).json().arrayValue) ?? []
            return listed.first?["held"] == 2
        }, "\(listed)")
        let one = try #require(listed.first)
        #expect(listed.count == 1)
        #expect(one["pid"] == .integer(Int(worker.pid)), "\(one)")
        #expect(one["state"] == "live")
        #expect(Set(one["sagas"]?.arrayValue?.compactMap(\.stringValue) ?? []) == ["w-1", "w-2"])
        #expect(one["id"]?.stringValue?.contains(":\(worker.pid):") == true)
        let text = try box.run(["workers"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("WORKER") && text.stdout.contains("live") && text.stdout.contains("\(worker.pid)"), "\(text)")

        // A worker killed with its leases still running is gone: its process no longer exists.
        worker.signal(SIGKILL)
        #expect(worker.wait(timeout: 10) != nil)
        let after = try box.run(["workers", "--json"]).json().arrayValue ?? []
        #expect(after.first?["state"] == "gone", "\(after)")
    }
}
