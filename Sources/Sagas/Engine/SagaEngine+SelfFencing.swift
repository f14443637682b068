import Foundation
import Logging
import Synchronization

/// What the engine knows of its leases' renewals, for self-fencing (``SagaEngine/selfFenced(_:)``).
struct SelfFence {
    /// When the last renewal that succeeded began: every lease it renewed lasts until then plus the lease length.
    var lastRenewed: Date?
    /// When the last renewal ended (succeeded or failed): a renewal that begins long after it restarts the chain.
    var lastEnded: Date?
    /// Numbers the deadlines armed, so that a deadline that fires after a newer renewal succeeded does nothing.
    var generation = 0
    /// The engine gave its sagas up because its renewals stopped succeeding; the next success ends it.
    var fenced = false
    /// The armed deadline.
    var token: EngineTimers.Token?
    /// A renewal is in flight (its store call has not returned).
    var renewing = false
    /// The last renewal failed.
    var failed = false
}

// Self-fencing (issue 16): a node that cannot renew its leases (its database connection is gone) stops working on
// its sagas before their leases can pass to another node. Journal writes are fenced by the store already; this
// stops the attempts themselves: once the last renewal that succeeded is older than the lease minus one renewal
// interval, every saga the engine holds is marked lost, so each drive starts no new attempt, cancels its running
// ones and ends. When a renewal succeeds again the engine works as before: its claims take the sagas back once
// their leases lapsed (or another node took them first).
extension SagaEngine {
    /// The safety margin: leases are given up one renewal interval before they can lapse.
    var renewalInterval: Duration {
        .milliseconds(max(50, SagaDuration.milliseconds(configuration.leaseDuration) / 3))
    }

    /// Runs one renewal (`body`, the store call) under the self-fencing deadline: armed before it, at the last
    /// successful renewal's start plus the lease minus one renewal interval; moved forward when it succeeds.
    func selfFenced<T>(_ body: () async throws -> T) async throws -> T {
        let began = now()
        let interval = renewalInterval
        let lease = configuration.leaseDuration
        let armed: (generation: Int, delay: Duration)? = state.withLock { s in
            var fence = s.selfFence
            fence.renewing = true
            // No renewal for more than one and a half intervals since the last one ended: the chain stopped (the
            // engine held no saga) and restarted; its sagas were claimed at most an interval ago.
            let restarted = fence.lastEnded.map { began.timeIntervalSince($0) > 1.5 * interval.seconds } ?? true
            if !fence.fenced, restarted || fence.lastRenewed == nil {
                fence.lastRenewed = began.addingTimeInterval(-interval.seconds)
            }
            defer { s.selfFence = fence }
            guard !fence.fenced, fence.token == nil, let last = fence.lastRenewed else { return nil }
            fence.generation += 1
            let deadline = last.addingTimeInterval(lease.seconds - interval.seconds)
            return (fence.generation, .milliseconds(max(0, Int64(deadline.timeIntervalSince(began) * 1000))))
        }
        if let armed { arm(generation: armed.generation, after: armed.delay) }
        do {
            let value = try await body()
            renewalSucceeded(began: began)
            return value
        } catch {
            // Still fenced: sagas claimed since (the database answered a claim, not this renewal) are given up too.
            let fenced = state.withLock { s -> Bool in
                s.selfFence.lastEnded = now()
                s.selfFence.renewing = false
                s.selfFence.failed = true
                return s.selfFence.fenced
            }
            if fenced { fence(generation: nil) }
            throw error
        }
    }

    /// Whether the engine gave its sagas up and waits for a renewal to succeed.
    public var isSelfFenced: Bool {
        state.withLock { $0.selfFence.fenced }
    }

    private func arm(generation: Int, after delay: Duration) {
        let token = timers.schedule(after: delay) { [weak self] in self?.fence(generation: generation) }
        let stale = state.withLock { s -> Bool in
            guard s.selfFence.generation == generation else { return true }
            s.selfFence.token = token
            return false
        }
        if stale { timers.cancel(token) }
    }

    private func renewalSucceeded(began: Date) {
        let (token, wasFenced) = state.withLock { s -> (EngineTimers.Token?, Bool) in
            let token = s.selfFence.token
            let wasFenced = s.selfFence.fenced
            s.selfFence.generation += 1
            s.selfFence.token = nil
            s.selfFence.fenced = false
            s.selfFence.lastRenewed = began
            s.selfFence.renewing = false
            s.selfFence.failed = false
            s.selfFence.lastEnded = now()
            return (token, wasFenced)
        }
        if let token { timers.cancel(token) }
        if wasFenced {
            logger.notice("lease renewals succeed again: the worker claims sagas again")
            wakeWorkers()
        }
    }

    /// The deadline `generation` passed with no renewal since (or, with `nil`, a renewal failed while fenced): every
    /// held saga is marked lost and its drive nudged.
    private func fence(generation: Int?) {
        let first = state.withLock { !$0.selfFence.fenced }
        let (mailboxes, sagas, unparked): ([DriveMailbox], Int, Bool) = state.withLock { s in
            if let generation {
                guard s.selfFence.generation == generation, !s.selfFence.fenced else { return ([], -1, false) }
                // Only a renewal that hangs or fails fences: a deadline that fires while the renewal chain is merely
                // late (the next one not yet begun, a clock that jumped in a test) does not.
                guard s.selfFence.renewing || s.selfFence.failed else {
                    s.selfFence.token = nil
                    return ([], -1, false)
                }
            } else {
                guard s.selfFence.fenced else { return ([], -1, false) }
            }
            s.selfFence.fenced = true
            s.selfFence.token = nil
            var mailboxes: [DriveMailbox] = []
            let lost = Array(s.active)
            for id in lost {
                s.lostLeases.insert(id)
                if let mailbox = s.mailboxes[id] { mailboxes.append(mailbox) }
            }
            return (mailboxes, lost.count, Self.renewedParked(&s, cancelled: [], lost: lost))
        }
        guard sagas > 0 || (sagas == 0 && first) else { return }
        logger.error(
            "lease renewals failed for longer than the lease minus one renewal interval: the worker stops working on its sagas until a renewal succeeds",
            metadata: ["sagas": "\(sagas)", "worker": "\(configuration.workerID)"]
        )
        for mailbox in mailboxes { mailbox.post(.wake) }
        if unparked { wakeWorkers() }
    }
}

extension Duration {
    /// The duration in seconds.
    fileprivate var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
