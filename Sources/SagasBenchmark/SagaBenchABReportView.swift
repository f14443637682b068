/// What `saga bench --ab … --json` prints: the throughput of each run of A and B, their medians and B's share of
/// A's, and what B adds. One shape.
public struct SagaBenchABReportView: Codable, Sendable, Hashable {
    /// Sagas per second of each A run, in run order.
    public var a: [Double]
    /// Sagas per second of each B run, in run order.
    public var b: [Double]
    public var medianA: Double
    public var medianB: Double
    /// `medianB / medianA` (0 when A's median is 0).
    public var ratio: Double
    /// What B has that A has not (`an exclusive key per saga`, …).
    public var bHas: [String]
    /// The store both ran on, when it is not the default (`postgres`); absent otherwise.
    public var store: String?

    enum CodingKeys: String, CodingKey {
        case a, b, medianA, medianB, ratio, store
        case bHas = "b_has"
    }

    /// The view of A/B runs: `results` labelled `A` or `B`.
    public init(_ results: [(label: String, report: SagaBenchmark.Report)], bHas: [String], store: String?) {
        a = results.filter { $0.label == "A" }.map(\.report.sagasPerSecond)
        b = results.filter { $0.label == "B" }.map(\.report.sagasPerSecond)
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
        medianA = median(a)
        medianB = median(b)
        ratio = medianA > 0 ? medianB / medianA : 0
        self.bHas = bHas
        self.store = store
    }
}
