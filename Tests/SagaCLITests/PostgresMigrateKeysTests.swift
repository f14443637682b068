import Foundation
import Sagas
import Testing

/// `saga migrate --to` copies the exclusive-key queues (issue 21): a pending saga copied to PostgreSQL still waits
/// for the saga that holds its key there, and the two never overlap when PostgreSQL workers run them.
@Suite(
    .enabled(
        if: PostgresCLITests.serverURL != nil,
        "SAGA_POSTGRES_URL is not set: run `eval \"$(scripts/pg-local.sh start)\"` to run the PostgreSQL CLI tests"
    ),
    .timeLimit(.minutes(3))
)
struct PostgresMigrateKeysTests {
    @Test func aCopiedPendingSagaStillWaitsForItsKeyHolder() throws {
        let box = try PostgresCLITests.sandbox()
        let url = try #require(box.databaseURL)
        box.databaseURL = nil  // first, the SQLite file
        try ExclusiveKeyTests.writeWorkflow(box)
        let ids = try (0..<3).map { n in
            try box.submit(["acct", "--id", "key-\(n)", "--input", ExclusiveKeyTests.input(account: "1", sleep: "0.3")])
        }
        let free = try box.submit(["acct", "--id", "key-free", "--input", ExclusiveKeyTests.input(account: "2")])
        let copy = try box.run(["migrate", "--to", url, "--json"])
        #expect(copy.status == 0, "\(copy)")
        #expect(try copy.json()["sagas"] == 4, "\(copy)")

        box.databaseURL = url  // now the PostgreSQL copy
        let holds = try box.show(ids[2])["exclusiveKeys"]?.arrayValue ?? []
        #expect(holds.count == 1, "\(holds)")
        #expect(holds.first?["key"] == "account:1" && holds.first?["holder"] == .string(ids[0]), "\(holds)")
        #expect(holds.first?["ahead"] == 2, "\(holds)")
        #expect(try box.show(free)["exclusiveKeys"]?.arrayValue?.first?["holder"] == .string(free))
        #expect(try ExclusiveKeyTests.work(box, ids: ids + [free], workers: 2))
        #expect(try ExclusiveKeyTests.statuses(box, ids + [free]) == Array(repeating: "completed", count: 4))
        let spans = ExclusiveKeyTests.spans(box)
        let ordered = ids.compactMap { id in spans[id].map { (id, $0) } }
        #expect(ordered.count == 3)
        for (earlier, later) in zip(ordered, ordered.dropFirst()) {
            #expect(earlier.1.end <= later.1.start, "\(earlier.0) overlaps \(later.0) on PostgreSQL, or ran after it")
        }
    }
}
