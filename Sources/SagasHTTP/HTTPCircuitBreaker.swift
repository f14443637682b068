import CoreMetrics
import Logging
import Synchronization

/// One circuit breaker per target host (`host:port`), shared by every saga that calls it.
///
/// Closed, it counts consecutive failures; after `failureThreshold` of them it opens. While open, calls wait; after
/// `openDuration` one trial call goes through (half-open): its success closes the breaker, its failure re-opens it.
/// The breaker only delays calls; it never fails one by itself.
public final class HTTPCircuitBreaker: Sendable {
    /// A breaker's state.
    public enum State: Sendable, Hashable, CustomStringConvertible {
        /// Calls go through; `failures` consecutive failures so far.
        case closed(failures: Int)
        /// Calls wait until `openDuration` after the last failure.
        case open
        /// One trial call is allowed (or in flight); the others wait for its result.
        case halfOpen

        public var description: String {
            switch self {
            case .closed: "closed"
            case .open: "open"
            case .halfOpen: "half-open"
            }
        }
    }

    /// What a caller must do before calling the host.
    enum Admission: Sendable, Equatable {
        /// Call now; `trial` when this call decides whether the breaker closes.
        case proceed(trial: Bool)
        /// Wait this long, then ask again.
        case wait(Duration)
    }

    private struct Entry {
        var failures = 0
        /// Set while open: when the trial may go.
        var openUntil: Duration?
        var trialInFlight = false

        var state: State {
            if trialInFlight { return .halfOpen }
            if openUntil != nil { return .open }
            return .closed(failures: failures)
        }
    }

    let failureThreshold: Int
    let openDuration: Duration
    /// Monotonic time.
    let now: @Sendable () -> Duration
    let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])

    init(failureThreshold: Int, openDuration: Duration, now: @escaping @Sendable () -> Duration, logger: Logger) {
        self.failureThreshold = max(1, failureThreshold)
        self.openDuration = openDuration
        self.now = now
        self.logger = logger
    }

    /// The state of the breaker for `host` (`host:port`); `.closed(failures: 0)` for a host never called.
    public func state(for host: String) -> State {
        entries.withLock { $0[host]?.state ?? .closed(failures: 0) }
    }

    /// Asks to call `host`.
    func admit(_ host: String) -> Admission {
        let t = now()
        let (admission, changed) = entries.withLock { entries -> (Admission, Bool) in
            var entry = entries[host] ?? Entry()
            defer { entries[host] = entry }
            guard let until = entry.openUntil else { return (.proceed(trial: false), false) }
            if entry.trialInFlight {
                // Wait for the trial's result; poll, since its outcome can come at any time.
                return (.wait(min(openDuration, .milliseconds(50))), false)
            }
            if t >= until {
                entry.trialInFlight = true
                return (.proceed(trial: true), true)
            }
            return (.wait(until - t), false)
        }
        if changed {
            logger.notice("circuit breaker half-open", metadata: ["host": "\(host)"])
            Self.report(.halfOpen, host: host)
        }
        return admission
    }

    /// Records how a call to `host` went: `healthy` when the host answered in a way that says nothing against it.
    func record(_ host: String, healthy: Bool) {
        let t = now()
        let change = entries.withLock { entries -> State? in
            var entry = entries[host] ?? Entry()
            defer { entries[host] = entry }
            let before = entry.state
            if healthy {
                entry = Entry()
            } else {
                entry.failures += 1
                entry.trialInFlight = false
                if entry.openUntil != nil || entry.failures >= failureThreshold {
                    entry.openUntil = t + openDuration
                }
            }
            let after = entry.state
            return before.description == after.description ? nil : after
        }
        switch change {
        case .open?: logger.notice("circuit breaker open", metadata: ["host": "\(host)"])
        case .closed?: logger.notice("circuit breaker closed", metadata: ["host": "\(host)"])
        default: break
        }
        if let change { Self.report(change, host: host) }
    }

    /// Sets the gauge `saga_circuit_breaker_state{host}` (through the bootstrapped swift-metrics backend): 0 closed,
    /// 1 half-open, 2 open. Hosts are those that `http` steps call, a bounded set.
    static func report(_ state: State, host: String) {
        let value: Int
        switch state {
        case .closed: value = 0
        case .halfOpen: value = 1
        case .open: value = 2
        }
        Gauge(label: "saga_circuit_breaker_state", dimensions: [("host", host)]).record(value)
    }

    /// Gives back a trial slot whose call ended without telling anything (cancelled before it was sent).
    func abandonTrial(_ host: String) {
        entries.withLock { entries in
            guard var entry = entries[host], entry.trialInFlight else { return }
            entry.trialInFlight = false
            entry.openUntil = min(entry.openUntil ?? now(), now())
            entries[host] = entry
        }
    }
}
