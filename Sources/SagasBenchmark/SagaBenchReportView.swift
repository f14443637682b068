public import Sagas

/// What `saga bench --json` prints: every figure of one run (``SagaBenchmark/Report``), one shape.
///
/// Encode it with ``JSONValueEncoder`` (`report.json` does) or any `Encoder`; decode it back with any `Decoder`.
/// Figures that a run does not have are left out (no key): `failStep` without `--fail-step`, `latencyPerStepMs`
/// outside latency mode, the journal's counters on a store that keeps none, the database's size when unknown. The
/// caller's extra figures (`store`, `observe`, `flushProbeUs`, …) sit beside the others at the top level.
public struct SagaBenchReportView: Codable, Sendable, Hashable {
    /// Percentiles in milliseconds.
    public struct Percentiles: Codable, Sendable, Hashable {
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var max: Double

        public init(_ percentiles: SagaBenchmark.Percentiles) {
            p50 = percentiles.p50
            p95 = percentiles.p95
            p99 = percentiles.p99
            max = percentiles.max
        }
    }

    public var mode: String
    public var sagas: Int
    public var steps: Int
    /// 1 in latency mode, where sagas run one at a time.
    public var concurrency: Int
    public var failRate: Double
    public var seed: Int
    public var failStep: Int?
    public var elapsedSeconds: Double
    public var completed: Int
    public var compensated: Int
    public var other: Int
    public var actionsRun: Int
    public var compensationsRun: Int
    public var probesRun: Int
    /// Actions and compensations.
    public var stepsRun: Int
    public var sagasPerSecond: Double
    public var stepsPerSecond: Double
    public var latencyMs: Percentiles
    /// Latency mode only: each saga's latency divided by the attempts it ran.
    public var latencyPerStepMs: Percentiles?
    public var peakMemoryBytes: Int
    public var cpuSeconds: Double
    public var cpuMsPerSaga: Double
    // The journal's counters, when the store keeps them.
    public var commits: Int?
    public var writes: Int?
    public var eventRows: Int?
    public var commitsPerSecond: Double?
    public var rowsPerSecond: Double?
    public var rowsPerStep: Double?
    public var commitsPerSaga: Double?
    /// The share of the run the store's writer spent in transactions.
    public var writerBusyFraction: Double?
    public var databaseBytes: Int?
    public var databaseBytesPerSaga: Double?
    /// The caller's figures, at the top level beside the others (a key here replaces a figure of the same name).
    public var extra: [String: JSONValue]

    /// The view of one run's report.
    public init(_ report: SagaBenchmark.Report) {
        let workload = report.workload
        let elapsed = max(report.elapsedSeconds, 1e-9)
        let steps = report.actionsRun + report.compensationsRun
        let sagaCount = Double(max(1, workload.sagas))
        mode = report.mode.rawValue
        sagas = workload.sagas
        self.steps = workload.steps
        concurrency = report.mode == .latency ? 1 : workload.concurrency
        failRate = workload.failRate
        seed = Int(truncatingIfNeeded: workload.seed)
        failStep = workload.failStep
        elapsedSeconds = report.elapsedSeconds
        completed = report.completed
        compensated = report.compensated
        other = report.other
        actionsRun = report.actionsRun
        compensationsRun = report.compensationsRun
        probesRun = report.probesRun
        stepsRun = steps
        sagasPerSecond = report.sagasPerSecond
        stepsPerSecond = report.stepsPerSecond
        latencyMs = Percentiles(report.latency)
        latencyPerStepMs = report.mode == .latency ? Percentiles(report.perStepLatency) : nil
        peakMemoryBytes = report.peakMemoryBytes
        cpuSeconds = report.cpuSeconds
        cpuMsPerSaga = report.cpuSeconds * 1000 / sagaCount
        if let journal = report.journal {
            commits = journal.commits
            writes = journal.writes
            eventRows = journal.eventRows
            commitsPerSecond = Double(journal.commits) / elapsed
            rowsPerSecond = Double(journal.eventRows) / elapsed
            rowsPerStep = steps > 0 ? Double(journal.eventRows) / Double(steps) : 0
            commitsPerSaga = Double(journal.commits) / sagaCount
            writerBusyFraction = journal.transactionSeconds / elapsed
        }
        if let bytes = report.databaseBytes {
            databaseBytes = bytes
            databaseBytesPerSaga = Double(bytes) / sagaCount
        }
        extra = report.extra
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case mode, sagas, steps, concurrency, failRate, seed, failStep, elapsedSeconds, completed, compensated, other
        case actionsRun, compensationsRun, probesRun, stepsRun, sagasPerSecond, stepsPerSecond, latencyMs
        case latencyPerStepMs, peakMemoryBytes, cpuSeconds, cpuMsPerSaga, commits, writes, eventRows
        case commitsPerSecond, rowsPerSecond, rowsPerStep, commitsPerSaga, writerBusyFraction, databaseBytes
        case databaseBytesPerSaga
    }

    /// Any key: the extra figures.
    struct ExtraKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decode(String.self, forKey: .mode)
        sagas = try c.decode(Int.self, forKey: .sagas)
        steps = try c.decode(Int.self, forKey: .steps)
        concurrency = try c.decode(Int.self, forKey: .concurrency)
        failRate = try c.decode(Double.self, forKey: .failRate)
        seed = try c.decode(Int.self, forKey: .seed)
        failStep = try c.decodeIfPresent(Int.self, forKey: .failStep)
        elapsedSeconds = try c.decode(Double.self, forKey: .elapsedSeconds)
        completed = try c.decode(Int.self, forKey: .completed)
        compensated = try c.decode(Int.self, forKey: .compensated)
        other = try c.decode(Int.self, forKey: .other)
        actionsRun = try c.decode(Int.self, forKey: .actionsRun)
        compensationsRun = try c.decode(Int.self, forKey: .compensationsRun)
        probesRun = try c.decode(Int.self, forKey: .probesRun)
        stepsRun = try c.decode(Int.self, forKey: .stepsRun)
        sagasPerSecond = try c.decode(Double.self, forKey: .sagasPerSecond)
        stepsPerSecond = try c.decode(Double.self, forKey: .stepsPerSecond)
        latencyMs = try c.decode(Percentiles.self, forKey: .latencyMs)
        latencyPerStepMs = try c.decodeIfPresent(Percentiles.self, forKey: .latencyPerStepMs)
        peakMemoryBytes = try c.decode(Int.self, forKey: .peakMemoryBytes)
        cpuSeconds = try c.decode(Double.self, forKey: .cpuSeconds)
        cpuMsPerSaga = try c.decode(Double.self, forKey: .cpuMsPerSaga)
        commits = try c.decodeIfPresent(Int.self, forKey: .commits)
        writes = try c.decodeIfPresent(Int.self, forKey: .writes)
        eventRows = try c.decodeIfPresent(Int.self, forKey: .eventRows)
        commitsPerSecond = try c.decodeIfPresent(Double.self, forKey: .commitsPerSecond)
        rowsPerSecond = try c.decodeIfPresent(Double.self, forKey: .rowsPerSecond)
        rowsPerStep = try c.decodeIfPresent(Double.self, forKey: .rowsPerStep)
        commitsPerSaga = try c.decodeIfPresent(Double.self, forKey: .commitsPerSaga)
        writerBusyFraction = try c.decodeIfPresent(Double.self, forKey: .writerBusyFraction)
        databaseBytes = try c.decodeIfPresent(Int.self, forKey: .databaseBytes)
        databaseBytesPerSaga = try c.decodeIfPresent(Double.self, forKey: .databaseBytesPerSaga)
        let known = Set(CodingKeys.allCases.map(\.stringValue))
        let all = try decoder.container(keyedBy: ExtraKey.self)
        var extra: [String: JSONValue] = [:]
        for key in all.allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try all.decode(JSONValue.self, forKey: key)
        }
        self.extra = extra
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(mode, forKey: .mode)
        try c.encode(sagas, forKey: .sagas)
        try c.encode(steps, forKey: .steps)
        try c.encode(concurrency, forKey: .concurrency)
        try c.encode(failRate, forKey: .failRate)
        try c.encode(seed, forKey: .seed)
        try c.encodeIfPresent(failStep, forKey: .failStep)
        try c.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try c.encode(completed, forKey: .completed)
        try c.encode(compensated, forKey: .compensated)
        try c.encode(other, forKey: .other)
        try c.encode(actionsRun, forKey: .actionsRun)
        try c.encode(compensationsRun, forKey: .compensationsRun)
        try c.encode(probesRun, forKey: .probesRun)
        try c.encode(stepsRun, forKey: .stepsRun)
        try c.encode(sagasPerSecond, forKey: .sagasPerSecond)
        try c.encode(stepsPerSecond, forKey: .stepsPerSecond)
        try c.encode(latencyMs, forKey: .latencyMs)
        try c.encodeIfPresent(latencyPerStepMs, forKey: .latencyPerStepMs)
        try c.encode(peakMemoryBytes, forKey: .peakMemoryBytes)
        try c.encode(cpuSeconds, forKey: .cpuSeconds)
        try c.encode(cpuMsPerSaga, forKey: .cpuMsPerSaga)
        try c.encodeIfPresent(commits, forKey: .commits)
        try c.encodeIfPresent(writes, forKey: .writes)
        try c.encodeIfPresent(eventRows, forKey: .eventRows)
        try c.encodeIfPresent(commitsPerSecond, forKey: .commitsPerSecond)
        try c.encodeIfPresent(rowsPerSecond, forKey: .rowsPerSecond)
        try c.encodeIfPresent(rowsPerStep, forKey: .rowsPerStep)
        try c.encodeIfPresent(commitsPerSaga, forKey: .commitsPerSaga)
        try c.encodeIfPresent(writerBusyFraction, forKey: .writerBusyFraction)
        try c.encodeIfPresent(databaseBytes, forKey: .databaseBytes)
        try c.encodeIfPresent(databaseBytesPerSaga, forKey: .databaseBytesPerSaga)
        var all = encoder.container(keyedBy: ExtraKey.self)
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) {
            try all.encode(value, forKey: ExtraKey(stringValue: key))
        }
    }
}
