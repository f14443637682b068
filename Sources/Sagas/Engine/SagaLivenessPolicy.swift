/// How a worker tells that another worker holding a lease is gone before that lease expires (dead-worker
/// detection). Leases, and on PostgreSQL the nodes' heartbeats, always decide in the end: a saga whose lease lapsed
/// is claimable by anyone. The policy only says whether a holder may be taken for gone sooner.
///
/// - ``sameHostProcessCheck`` (the default): a holder whose worker id says it ran under this kernel's boot and in
///   this process's PID namespace, and whose process no longer exists, is gone at once
///   (``WorkerIdentity/isCertainlyGone(_:)``). This is what makes a single-host SQLite deployment recover a killed
///   worker's sagas without waiting out the lease. On a shared store it decides only for workers of this machine:
///   a holder on another host, in another PID namespace, or with an id without those fields is never taken for
///   gone, so nodes elsewhere rely on leases and heartbeats alone.
/// - ``leasesOnly``: no holder is taken for gone before its lease (or heartbeat) lapsed. For deployments where a
///   worker id's process fields cannot be trusted (ids chosen by hand, workers that share a PID namespace with
///   processes of other machines' boot ids), or to test take-over by lease expiry alone.
///
/// Set it with ``SagaEngine/Configuration/liveness``; take-over (claims and the worker's scan) and reconciliation
/// both use it.
public struct SagaLivenessPolicy: Sendable, Hashable, CustomStringConvertible {
    private enum Rule: Sendable, Hashable {
        case leasesOnly
        case sameHostProcessCheck
    }

    private let rule: Rule

    /// A holder is gone only when its lease (or its node's heartbeat) lapsed.
    public static let leasesOnly = SagaLivenessPolicy(rule: .leasesOnly)

    /// A holder on this host whose process is certainly gone is taken over at once; others wait for their lease.
    public static let sameHostProcessCheck = SagaLivenessPolicy(rule: .sameHostProcessCheck)

    /// Whether the worker that `owner` names is certainly gone, before its lease says so.
    public func isCertainlyGone(_ owner: String) -> Bool {
        switch rule {
        case .leasesOnly: false
        case .sameHostProcessCheck: WorkerIdentity.isCertainlyGone(owner)
        }
    }

    public var description: String {
        switch rule {
        case .leasesOnly: "leases only"
        case .sameHostProcessCheck: "same-host process check"
        }
    }
}
