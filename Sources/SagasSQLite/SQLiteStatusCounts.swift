import GRDB
import Sagas

/// Counting sagas by status without reading every saga: finished statuses from `saga_finished_counts` (kept by
/// triggers, migration 9), the others from the `(status, created_at)` index, one range per status, and statuses
/// this version does not know (a damaged row) from the index ranges between the known ones.
enum SQLiteStatusCounts {
    static let finished: Set<SagaStatus> = [.completed, .compensated, .failed]
    /// The statuses counted from the index: the sagas in flight and those waiting for a person.
    static var live: [SagaStatus] { SagaStatus.allCases.filter { !finished.contains($0) } }

    /// Matches a status that is none of the known ones, as ranges of `sagas_status_created` between them (a
    /// `NOT IN` would read every row of the index).
    static let unknownStatus: String = {
        let known = SagaStatus.allCases.map(\.rawValue).sorted()
        var ranges = ["status < '\(known[0])'"]
        for (low, high) in zip(known, known.dropFirst()) {
            ranges.append("(status > '\(low)' AND status < '\(high)')")
        }
        ranges.append("status > '\(known[known.count - 1])'")
        return "(" + ranges.joined(separator: " OR ") + ")"
    }()

    /// Counts by status; an unknown status counts as `needs_intervention`, as the listing shows it.
    static func byStatus(_ db: Database) throws -> [SagaStatus: Int] {
        var counts: [SagaStatus: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT status, SUM(n) FROM saga_finished_counts WHERE n > 0 GROUP BY status") {
            let name: String? = try? row.decode(atIndex: 0)
            guard let status = name.flatMap(SagaStatus.init(rawValue:)) else { continue }
            counts[status, default: 0] += (try? row.decode(Int.self, atIndex: 1)) ?? 0
        }
        for status in live {
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sagas WHERE status = ?", arguments: [status.rawValue]) ?? 0
            if n > 0 { counts[status, default: 0] += n }
        }
        let unknown = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sagas WHERE \(unknownStatus)") ?? 0
        if unknown > 0 { counts[.needsIntervention, default: 0] += unknown }
        return counts
    }

    /// Counts by workflow, version and status, in that order (unknown statuses are left out).
    static func byWorkflow(_ db: Database) throws -> [SagaStatistics.WorkflowCount] {
        var rows: [SagaStatistics.WorkflowCount] = []
        for row in try Row.fetchAll(
            db, sql: "SELECT workflow, version, status, n FROM saga_finished_counts WHERE n > 0"
        ) {
            guard let status = SagaStatus(rawValue: row[2] as String) else { continue }
            rows.append(.init(workflow: row[0], version: row[1], status: status, count: row[3]))
        }
        for status in live {
            for row in try Row.fetchAll(
                db,
                sql: "SELECT workflow, version, COUNT(*) FROM sagas WHERE status = ? GROUP BY workflow, version",
                arguments: [status.rawValue]
            ) {
                rows.append(.init(workflow: row[0], version: row[1], status: status, count: row[2]))
            }
        }
        return rows.sorted {
            ($0.workflow, $0.version, $0.status.rawValue) < ($1.workflow, $1.version, $1.status.rawValue)
        }
    }
}
