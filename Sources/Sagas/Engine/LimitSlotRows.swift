/// The named-limit slots one drive of a saga holds (issue 21): the slot row each attempt in flight uses, and the
/// rows of ended attempts kept for the saga's next attempt of the same limit.
///
/// A slot row in the store counts one attempt in flight whatever its holder is called. When an attempt ends and
/// the saga's next attempt wants the same limit (the next step of a chain, a retry), the ended attempt's row is
/// handed over to it in memory: the number of rows, and so of attempts in flight, does not change, and the hand
/// over writes nothing. Rows that no attempt took over are freed in the store after the drive's decisions.
struct LimitSlotRows: Sendable {
    /// A slot row in the store: its limit and the holder it was taken under.
    struct Row: Sendable, Hashable {
        var name: String
        var holder: String
    }

    /// The row each attempt in flight uses, by the attempt's holder (`step/phase`).
    private(set) var inUse: [String: Row] = [:]
    /// Rows of ended attempts, still in the store, that no attempt took over yet.
    private(set) var kept: [Row] = []

    /// Records the row of an attempt that took a slot in the store (under its own holder).
    mutating func took(_ request: SagaLimitRequest) {
        inUse[request.holder] = Row(name: request.name, holder: request.holder)
    }

    /// An attempt ended: its row is kept for the saga's next attempt of the limit.
    mutating func ended(holder: String) {
        if let row = inUse.removeValue(forKey: holder) { kept.append(row) }
    }

    /// Whether the store row the request would take (its own holder) is used by another attempt in flight: asking
    /// the store would replace that row, and two attempts would count as one.
    func collides(_ request: SagaLimitRequest) -> Bool {
        inUse.contains { $0.key != request.holder && $0.value == Row(name: request.name, holder: request.holder) }
    }

    /// Whether a kept row of the request's limit can be handed over.
    func hasKept(_ name: String) -> Bool { kept.contains { $0.name == name } }

    /// Hands a kept row of the request's limit over to it, its own first.
    mutating func handOver(to request: SagaLimitRequest) -> Bool {
        guard
            let index = kept.firstIndex(where: { $0 == Row(name: request.name, holder: request.holder) })
                ?? kept.firstIndex(where: { $0.name == request.name })
        else { return false }
        inUse[request.holder] = kept.remove(at: index)
        return true
    }

    /// Takes the kept rows (of one limit, or all) out, for the caller to free in the store.
    mutating func takeKept(name: String? = nil) -> [Row] {
        let taken = kept.filter { name == nil || $0.name == name }
        kept.removeAll { name == nil || $0.name == name }
        return taken
    }
}
