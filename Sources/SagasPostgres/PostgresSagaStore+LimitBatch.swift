public import Foundation
import PostgresNIO
public import Sagas

// The parked requests of a worker asked together (issue 21, `0009-limit-batch`): one round trip for all of them,
// whatever their number, so that PostgreSQL parks limit waiters out of the worker slots (guarantees rule 31).
extension PostgresSagaStore {
    /// `true`: a worker's parked requests are asked together, in one statement (`acquireWaiting`).
    public var parksLimitWaiters: Bool { true }

    /// Asks again for every request of a worker's parked sagas with one call of `saga_limit_acquire_all`, in order.
    public func acquireWaiting(_ requests: [SagaLimitRequest], now: Date) async throws -> [SagaLimitRequest] {
        guard !requests.isEmpty else { return [] }
        let nowMillis = SagaTime.milliseconds(now)
        var s = PostgresStatement()
        let arguments = [
            s.bind(requests.map(\.name)) + "::text[]",
            s.bind(requests.map(\.sagaID)) + "::text[]",
            s.bind(requests.map(\.holder)) + "::text[]",
            s.bind(requests.map(\.owner)) + "::text[]",
            s.bind(requests.map { Int64($0.limit.concurrency ?? -1) }) + "::bigint[]",
            s.bind(requests.map { Int64($0.limit.rate?.count ?? -1) }) + "::bigint[]",
            s.bind(requests.map { $0.limit.rate?.windowMilliseconds ?? -1 }) + "::bigint[]",
            s.bind(nowMillis) + "::bigint",
            s.bind(nowMillis - Int64(SagaLimitRequest.waiterTimeout * 1000)) + "::bigint",
            s.bind(Self.creationGrace) + "::bigint",
        ]
        s.append("SELECT \(schema.schema).saga_limit_acquire_all(\(arguments.joined(separator: ", ")))")
        let granted = try await rows(s).map { row in try decoded { try row.decode(Int32.self) } }
        return granted.compactMap { position in
            let index = Int(position) - 1
            return requests.indices.contains(index) ? requests[index] : nil
        }
    }
}
