import Foundation
import Sagas
import SagasSQLite
import SagasTesting
import Testing

/// A long-running deployment with retention: new sagas every "hour", a purge that keeps the last three hours. The
/// database file must stop growing once purges keep pace (SQLite reuses the freed pages). Sizes, not timings.
@Suite struct SQLiteRetentionGrowthTests {
    static func fileSize(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size]) as? Int) ?? 0
    }

    @Test func theFileStopsGrowingWhenPurgesKeepPace() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saga-growth-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/saga.db"
        let store = try SQLiteSagaStore(path: path)
        let perCycle = 600
        let hour = 3_600_000
        var sizes: [Int] = []
        for cycle in 0..<12 {
            let base = cycle * hour
            try await withThrowingTaskGroup(of: Void.self) { group in
                for chunk in stride(from: 0, to: perCycle, by: 100) {
                    group.addTask {
                        for i in chunk..<(chunk + 100) {
                            let created = SagaFixtures.time(base + i)
                            var record = SagaFixtures.record(id: "c\(cycle)-\(i)", createdAt: created)
                            record.input = ["orderId": .string("o-\(cycle)-\(i)"), "lines": .array((0..<5).map { .integer($0) })]
                            let events = [SagaFixtures.started(record)]
                                + SagaFixtures.stepEvents(from: 2, count: 8, at: created)
                                + [SagaEvent(seq: 10, at: SagaTime.date(milliseconds: SagaTime.milliseconds(created) + 20), type: .sagaCompleted)]
                            _ = try await store.createLeased(
                                record, events: events, owner: "w", progress: SagaProgress(status: .completed),
                                leaseUntil: created
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            // Keep the last three hours.
            let purged = try await store.purge(finishedBefore: SagaFixtures.time(base - 2 * hour), limit: 100_000, dryRun: false)
            if cycle >= 3 { #expect(purged == perCycle, "cycle \(cycle)") }
            // The database and its write-ahead log (checkpointed automatically every 1000 pages).
            sizes.append(Self.fileSize(path) + Self.fileSize(path + "-wal"))
        }
        print("retention growth, \(perCycle) sagas of 10 events per cycle, 3 cycles kept: database + WAL sizes \(sizes.map { "\($0 / 1024) KiB" })")
        let total = try await store.countByStatus().values.reduce(0, +)
        #expect(total == 3 * perCycle)
        // Once three cycles are kept, the file may grow by a few pages (the b-trees rebalance), never by a cycle's worth.
        let steady = sizes[5]
        #expect(sizes[11] <= steady + steady / 10, "the file kept growing: \(sizes)")
        #expect(sizes[11] < sizes[2] * 2, "\(sizes)")
    }
}
