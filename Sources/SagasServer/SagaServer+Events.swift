import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Sagas
import ServiceLifecycle
import Synchronization

// `GET /v1/events`: journal events as Server-Sent Events, read from the store by polling (so events that other
// processes journal arrive too). With `?saga=ID` the stream carries that saga's events after `Last-Event-ID`
// (a sequence number) and ends when the saga is finished; without it, the events of every saga journaled since
// the stream began (or since the event named by `Last-Event-ID`, `MILLIS/SAGA/SEQ`), and it does not end.
extension SagaServer {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    /// A comment line is sent after this many polls without an event, so that proxies keep the stream open and
    /// a client that went away is noticed (the write fails and the stream stops polling).
    static let heartbeatPolls = 40

    func addEventRoutes(to router: Router<SagaRequestContext>) {
        router.get("/v1/events") { request, _ -> Response in
            let items = SagaQueryItems(request.uri.query)
            try items.check(allowed: ["saga"])
            let lastID = request.headers[Self.lastEventID]
            let body: ResponseBody
            if let sagaID = items.first("saga"), !sagaID.isEmpty {
                guard let record = try await self.engine.store.saga(id: sagaID) else { throw SagaError.notFound(sagaID) }
                var after = 0
                if let lastID {
                    guard let n = Int(lastID.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                        throw SagaServerError(
                            .invalidRequest, "Last-Event-ID must be a sequence number for ?saga=", status: .badRequest
                        )
                    }
                    after = n
                }
                let start = record
                let resumeAfter = after
                body = ResponseBody { writer in
                    // A stream ends at graceful shutdown, or the server would wait for it forever.
                    let stop = StopFlag()
                    try? await withGracefulShutdownHandler {
                        try await self.streamSaga(start, after: resumeAfter, to: &writer, stop: stop)
                    } onGracefulShutdown: {
                        stop.set()
                    }
                    try await writer.finish(nil)
                }
            } else {
                let since = try Self.globalCursor(lastID)
                body = ResponseBody { writer in
                    // A stream ends at graceful shutdown, or the server would wait for it forever.
                    let stop = StopFlag()
                    try? await withGracefulShutdownHandler {
                        try await self.streamAll(since: since, to: &writer, stop: stop)
                    } onGracefulShutdown: {
                        stop.set()
                    }
                    try await writer.finish(nil)
                }
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                body: body
            )
        }
    }

    /// One event in the SSE format: `id`, `event` (the journal event type) and `data` (the event as `saga show
    /// --json` prints it, with `sagaId`).
    static func sse(_ event: SagaEvent, sagaID: String, id: String) -> ByteBuffer {
        var object = event.json.objectValue ?? [:]
        object["sagaId"] = .string(sagaID)
        let text = "id: \(id)\nevent: \(event.type.rawValue)\ndata: \(JSONValue.object(object).jsonString)\n\n"
        return ByteBuffer(string: text)
    }

    private func streamSaga(
        _ start: SagaRecord,
        after: Int,
        to writer: inout any ResponseBodyWriter,
        stop: StopFlag
    ) async throws {
        var lastSeq = after
        var record = start
        var quiet = 0
        while !Task.isCancelled && !stop.isSet {
            if record.lastSeq > lastSeq {
                for event in try await engine.store.events(sagaID: record.id) where event.seq > lastSeq {
                    try await writer.write(Self.sse(event, sagaID: record.id, id: String(event.seq)))
                    lastSeq = event.seq
                }
                quiet = 0
            }
            if record.status.isTerminal && record.lastSeq <= lastSeq { return }
            quiet += 1
            if quiet >= Self.heartbeatPolls {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                quiet = 0
            }
            try await Task.sleep(for: configuration.eventPollInterval)
            guard let next = try await engine.store.saga(id: start.id) else { return }
            record = next
        }
    }

    /// Where a stream of every saga's events resumes: the time of the event in `Last-Event-ID` (and that event,
    /// which was already sent), else now.
    struct GlobalCursor: Sendable {
        var since: Date
        var sent: (saga: String, seq: Int)?
    }

    static func globalCursor(_ lastID: String?) throws -> GlobalCursor {
        guard let lastID else { return GlobalCursor(since: Date()) }
        let parts = lastID.split(separator: "/").map(String.init)
        guard parts.count == 3, let millis = Int64(parts[0]), let seq = Int(parts[2]) else {
            throw SagaServerError(
                .invalidRequest, "Last-Event-ID must be MILLIS/SAGA/SEQ, as this stream's ids are", status: .badRequest
            )
        }
        return GlobalCursor(since: SagaTime.date(milliseconds: millis), sent: (parts[1], seq))
    }

    private func streamAll(since cursor: GlobalCursor, to writer: inout any ResponseBodyWriter, stop: StopFlag)
        async throws
    {
        var known: [String: Int] = [:]
        var quiet = 0
        let active: [SagaStatus] = [.pending, .running, .compensating, .needsIntervention]
        while !Task.isCancelled && !stop.isSet {
            // The newest sagas and the unfinished ones: where new events are journaled.
            var records = try await engine.list(SagaQuery(limit: 200))
            records += try await engine.list(SagaQuery(statuses: active, limit: 500))
            var pending: [(SagaEvent, String)] = []
            for record in records {
                let seen = known[record.id]
                if let seen, record.lastSeq <= seen { continue }
                if seen == nil && record.updatedAt < cursor.since {
                    known[record.id] = record.lastSeq
                    continue
                }
                let events = try await engine.store.events(sagaID: record.id)
                for event in events where event.seq > (seen ?? 0) {
                    if seen == nil && event.at < cursor.since { continue }
                    if let sent = cursor.sent, sent.saga == record.id, event.seq <= sent.seq { continue }
                    pending.append((event, record.id))
                }
                known[record.id] = max(seen ?? 0, events.last?.seq ?? record.lastSeq)
            }
            pending.sort { $0.0.at < $1.0.at }
            for (event, sagaID) in pending {
                let id = "\(SagaTime.milliseconds(event.at))/\(sagaID)/\(event.seq)"
                try await writer.write(Self.sse(event, sagaID: sagaID, id: id))
            }
            quiet = pending.isEmpty ? quiet + 1 : 0
            if quiet >= Self.heartbeatPolls {
                try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                quiet = 0
            }
            try await Task.sleep(for: configuration.eventPollInterval)
        }
    }
}

/// Set once, at graceful shutdown.
final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
