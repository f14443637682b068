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

/// Issue 14, item 1, through the real CLI: `saga worker --reconcile-every 1s` with compensations that fail until
/// fixed. Each pass resolves the open interventions ("retry by reconciliation", the saga runnable with no lease
/// holder) and drives them, while the same worker's slots look for runnable sagas. When both drove one saga, an
/// attempt's outcome was lost and the saga was parked ("event N does not follow event N") with no open
/// intervention. Now every saga ends compensated once the cause is fixed, and the checker finds nothing.
@Suite(.serialized)
struct ReconcileInWorkerTests {
    @Test(.timeLimit(.minutes(3)))
    func theReconciliationJobAndItsWorkerNeverDriveOneSagaTogether() async throws {
        let box = try CLISandbox()
        // a succeeds; its compensation fails (retryably) until the file `fixed` exists; b fails for good.
        try box.writeScript("undo.sh", #"""
            sleep 0.02
            if [ -f "$SAGA_SCRATCH/fixed" ]; then
              echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/effects.log"
              echo '{"undone": true}'
              exit 0
            fi
            echo "the refund service is down" >&2
            exit 1
            """#)
        try box.writeScript("ok.sh", #"""
            echo "$SAGA_ID $SAGA_STEP $SAGA_PHASE $SAGA_ATTEMPT $SAGA_IDEMPOTENCY_KEY" >> "$SAGA_SCRATCH/effects.log"
            echo '{"ok": true}'
            """#)
        try box.writeScript("perm.sh", "echo 'card declined' >&2; exit 100")
        try box.writeWorkflow(
            "fragile",
            commandWorkflow(
                "fragile",
                defaults: #"{"retry": {"maxAttempts": 1}, "compensationRetry": {"maxAttempts": 1}, "timeout": "10s"}"#,
                steps: [
                    (name: "a", argv: ["./scripts/ok.sh"], extra: #""compensation": {"command": {"argv": ["./scripts/undo.sh"]}}"#),
                    (name: "b", argv: ["./scripts/perm.sh"], extra: #""after": ["a"]"#),
                ]
            )
        )
        let ids = (0..<20).map { String(format: "fragile-%02d", $0) }
        for id in ids { _ = try box.submit(["fragile", "--id", id, "--input", "{}"]) }
        let worker = try box.start([
            "worker", "--concurrency", "8", "--reconcile-every", "1s", "--retry-interval", "0s", "--max-retries", "1000",
            "--log-level", "error",
        ])
        defer {
            worker.signal(SIGKILL)
            _ = worker.wait(timeout: 10)
        }
        let reader = try SQLiteSagaStore(path: box.database, configuration: .init(createIfMissing: false, readOnly: true))
        func retries() async throws -> Int {
            var n = 0
            for id in ids {
                n += try await reader.events(sagaID: id).filter {
                    $0.type == .interventionResolved && $0.data?["by"]?.stringValue == SagaEngine.reconciliationActor
                }.count
            }
            return n
        }
        // Several passes retry the failing compensations while the worker's slots look for work.
        let deadline = Date().addingTimeInterval(60)
        while try await retries() < 5 * ids.count, Date() < deadline { usleep(100_000) }
        #expect(try await retries() >= 5 * ids.count, "the reconciliation job did not retry: \(worker.stderr)")
        FileManager.default.createFile(atPath: box.scratchFile("fixed"), contents: nil)
        let settled = eventually(timeout: 60) {
            let counts = (try? box.run(["list", "--json"]).json().arrayValue) ?? []
            return counts.count == ids.count && counts.allSatisfy { $0["status"]?.stringValue == "compensated" }
        }
        let journals = try await ids.asyncMap { id in
            JournalChecker.Journal(record: try #require(try await reader.saga(id: id)), events: try await reader.events(sagaID: id))
        }
        let parked = journals.filter { $0.record.lastError?.contains("does not replay") == true }.map(\.record.id)
        #expect(parked.isEmpty, "parked: \(parked)")
        #expect(settled, "\(journals.map { "\($0.record.id) \($0.record.status.rawValue) \($0.record.lastError ?? "")" })")
        let report = JournalChecker().check(journals, effects: CrashSuite.effects(box))
        #expect(report.violations.isEmpty, "\(report)")
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
