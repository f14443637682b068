public import Foundation

extension MemorySagaStore: SagaStoreLimits {
    /// `true`: asking again costs no round trip.
    nonisolated public var parksLimitWaiters: Bool { true }

    private func isLive(_ entry: MemoryLimitState.Entry, now: Date) -> Bool {
        guard let record = saga(id: entry.sagaID), record.owner == entry.owner, let expires = record.leaseExpiresAt
        else { return false }
        return expires > now
    }

    public func limitHasWaiters(_ name: String, now: Date) -> Bool {
        (limits.waiters[name] ?? []).contains {
            isLive($0, now: now) && now.timeIntervalSince($0.seen) <= SagaLimitRequest.waiterTimeout
        }
    }

    public func acquire(_ request: SagaLimitRequest, now: Date) -> Bool {
        let name = request.name
        limits.slots[name] = (limits.slots[name] ?? []).filter { isLive($0, now: now) }
        var waiters = (limits.waiters[name] ?? []).filter {
            isLive($0, now: now) && now.timeIntervalSince($0.seen) <= SagaLimitRequest.waiterTimeout
        }
        let mine: MemoryLimitState.Entry
        if let index = waiters.firstIndex(where: { $0.sagaID == request.sagaID && $0.holder == request.holder }) {
            waiters[index].seen = now
            waiters[index].owner = request.owner
            mine = waiters[index]
        } else {
            mine = .init(sagaID: request.sagaID, holder: request.holder, owner: request.owner, at: now, seen: now)
            waiters.append(mine)
        }
        defer { limits.waiters[name] = waiters }
        let first = waiters.min { ($0.at, $0.sagaID, $0.holder) < ($1.at, $1.sagaID, $1.holder) }
        guard first?.sagaID == mine.sagaID, first?.holder == mine.holder else { return false }
        if let concurrency = request.limit.concurrency, (limits.slots[name]?.count ?? 0) >= concurrency {
            return false
        }
        if let rate = request.limit.rate {
            let since = now.addingTimeInterval(-Double(rate.windowMilliseconds) / 1000)
            let recent = (limits.grants[name] ?? []).filter { $0 > since }
            limits.grants[name] = recent
            if recent.count >= rate.count { return false }
            limits.grants[name, default: []].append(now)
        }
        waiters.removeAll { $0.sagaID == mine.sagaID && $0.holder == mine.holder }
        limits.slots[name, default: []].append(mine)
        return true
    }

    public func release(limit name: String, sagaID: String, holder: String) {
        limits.slots[name]?.removeAll { $0.sagaID == sagaID && $0.holder == holder }
        limits.waiters[name]?.removeAll { $0.sagaID == sagaID && $0.holder == holder }
    }

    public func limitWaits(sagaID: String, now: Date) -> [String] {
        limits.waiters.compactMap { name, entries in
            entries.contains { $0.sagaID == sagaID && now.timeIntervalSince($0.seen) <= SagaLimitRequest.waiterTimeout }
                ? name : nil
        }.sorted()
    }

    public func limitUsage(now: Date) -> [SagaLimitUsage] {
        let names = Set(limits.slots.keys).union(limits.waiters.keys)
        return names.sorted().map { name in
            SagaLimitUsage(
                name: name,
                inFlight: (limits.slots[name] ?? []).filter { isLive($0, now: now) }.count,
                waiting: (limits.waiters[name] ?? []).filter {
                    isLive($0, now: now) && now.timeIntervalSince($0.seen) <= SagaLimitRequest.waiterTimeout
                }.count
            )
        }
    }
}
