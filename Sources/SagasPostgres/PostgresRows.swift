import Foundation
import PostgresNIO
import Sagas

/// Row decoding (the columns are `PostgresSchema.columns`) for the `sagas` and `saga_events` tables.
enum PostgresRows {
    /// The index of `lease_epoch` in `columns`.
    static let epochColumn = 18
    /// The index of `position` in `columns`.
    static let positionColumn = 19
    /// The index of `cancel_by` in `columns`.
    static let cancelByColumn = 20

    /// A saga's record, its lease epoch and its creation position, from a row whose first columns are `columns`.
    static func record(_ row: PostgresRow) throws -> (record: SagaRecord, epoch: Int64, position: Int64) {
        let r = PostgresRandomAccessRow(row)
        let id = try r[0].decode(String.self)
        let statusName = try r[6].decode(String.self)
        guard let status = SagaStatus(rawValue: statusName) else {
            throw SagaError(.databaseCorrupt, "saga \(id) has an unknown status '\(statusName)'", sagaID: id)
        }
        let input: JSONValue
        do {
            input = try JSONValue(parsing: try r[5].decode(String.self))
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(id) has an input that is not JSON", sagaID: id)
        }
        var record = SagaRecord(
            id: id,
            workflow: try r[1].decode(String.self),
            version: try r[2].decode(Int.self),
            definition: try r[3].decode(String.self),
            baseDirectory: try r[4].decode(String?.self),
            input: input,
            status: status,
            createdAt: SagaTime.date(milliseconds: try r[7].decode(Int64.self)),
            updatedAt: SagaTime.date(milliseconds: try r[8].decode(Int64.self)),
            owner: try r[9].decode(String?.self),
            leaseExpiresAt: try r[10].decode(Int64?.self).map(SagaTime.date(milliseconds:)),
            currentStep: try r[11].decode(String?.self),
            lastError: try r[12].decode(String?.self),
            cancelReason: try r[13].decode(String?.self),
            cancelRequestedAt: try r[14].decode(Int64?.self).map(SagaTime.date(milliseconds:)),
            lastSeq: try r[15].decode(Int.self),
            key: try r[16].decode(String?.self),
            rerunOf: try r[17].decode(String?.self)
        )
        record.cancelBy = try r[cancelByColumn].decode(String?.self)
        return (record, try r[epochColumn].decode(Int64.self), try r[positionColumn].decode(Int64.self))
    }

    /// An event from a row of `seq, at, type, step, payload`.
    static func event(_ row: PostgresRow, sagaID: String) throws -> SagaEvent {
        let r = PostgresRandomAccessRow(row)
        let seq = try r[0].decode(Int.self)
        let typeName = try r[2].decode(String.self)
        guard let type = SagaEventType(rawValue: typeName) else {
            throw SagaError(
                .databaseCorrupt,
                "saga \(sagaID): event \(seq) has an unknown type '\(typeName)'",
                sagaID: sagaID
            )
        }
        let payload: JSONValue
        do {
            payload = try JSONValue(parsing: try r[4].decode(String.self))
        } catch {
            throw SagaError(.databaseCorrupt, "saga \(sagaID): event \(seq) has a payload that is not JSON", sagaID: sagaID)
        }
        return SagaEvent(
            seq: seq,
            at: SagaTime.date(milliseconds: try r[1].decode(Int64.self)),
            type: type,
            step: try r[3].decode(String?.self),
            payload: payload
        )
    }

    /// `VALUES` rows for `events` of saga `sagaID`, bound into `statement`: `($1, $2::bigint, …), (…)`.
    static func values(_ events: [SagaEvent], sagaID: String, into statement: inout PostgresStatement) -> String {
        let id = statement.bind(sagaID)
        return events.map { event in
            let seq = statement.bind(Int64(event.seq))
            let at = statement.bind(SagaTime.milliseconds(event.at))
            let type = statement.bind(event.type.rawValue)
            let step = statement.bind(event.step)
            let payload = statement.bind(event.payload.jsonString)
            return "(\(id)::text, \(seq)::bigint, \(at)::bigint, \(type)::text, \(step)::text, \(payload)::text)"
        }.joined(separator: ", ")
    }
}
