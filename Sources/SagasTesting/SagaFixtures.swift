public import Foundation
public import Sagas

/// Builders for sagas and events in tests.
///
/// Times are whole milliseconds, as stores keep them, so records read back compare equal.
public enum SagaFixtures {
    /// A fixed instant (2023-11-14T22:13:20Z) that tests count from.
    public static let epoch = Date(timeIntervalSince1970: 1_700_000_000)

    /// `epoch` plus a number of milliseconds.
    public static func time(_ milliseconds: Int) -> Date {
        SagaTime.date(milliseconds: SagaTime.milliseconds(epoch) + Int64(milliseconds))
    }

    /// A pending saga record with no owner, created at `createdAt`.
    public static func record(
        id: String,
        workflow: String = "order",
        version: Int = 1,
        input: JSONValue = ["orderId": "o-1"],
        createdAt: Date = epoch
    ) -> SagaRecord {
        SagaRecord(
            id: id,
            workflow: workflow,
            version: version,
            definition: #"{"format":1,"name":"\#(workflow)","version":\#(version),"steps":[]}"#,
            baseDirectory: "/workflows",
            input: input,
            status: .pending,
            createdAt: createdAt,
            updatedAt: createdAt
        )
    }

    /// The `saga.started` event (seq 1) that `create` journals with a record.
    public static func started(_ record: SagaRecord) -> SagaEvent {
        SagaEvent(seq: 1, at: record.createdAt, type: .sagaStarted, data: ["input": record.input])
    }

    /// Step events numbered from `seq`, one a millisecond after `at`, alternating started and succeeded.
    public static func stepEvents(from seq: Int, count: Int, step: String = "charge", at: Date = epoch)
        -> [SagaEvent]
    {
        (0..<count).map { i in
            let n = seq + i
            let at = SagaTime.date(milliseconds: SagaTime.milliseconds(at) + Int64(n))
            if i % 2 == 0 {
                return SagaEvent(seq: n, at: at, type: .stepStarted, step: step, attempt: 1, idempotencyKey: "k-\(n)")
            }
            return SagaEvent(
                seq: n,
                at: at,
                type: .stepSucceeded,
                step: step,
                attempt: 1,
                output: ["chargeId": .string("c-\(n)"), "amount": 12.5],
                durationMs: 3
            )
        }
    }

    /// Creates a saga with its `saga.started` event in `store` and returns the stored record.
    @discardableResult
    public static func create(_ record: SagaRecord, in store: any SagaStore) async throws -> SagaRecord {
        try await store.create(record, events: [started(record)]).record
    }
}
