import Foundation
import Logging
import Sagas
import SagasBenchmark
import Testing

/// The benchmark workload on the memory store: the report's counts agree with each other. No timing is asserted.
@Suite(.timeLimit(.minutes(1)))
struct SagaBenchmarkTests {
    private func engine() -> SagaEngine {
        SagaEngine(store: .memory, logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func throughputRunsEverySaga() async throws {
        let workload = SagaBenchmark.Workload(sagas: 40, steps: 3, concurrency: 8)
        let report = try await SagaBenchmark.run(.throughput, workload: workload, engine: engine())
        #expect(report.completed == 40)
        #expect(report.compensated == 0)
        #expect(report.actionsRun == 120)
        #expect(report.latencies.count == 40)
        #expect(report.journal == nil)
        let json = report.json
        for key in ["sagasPerSecond", "stepsPerSecond", "latencyMs", "peakMemoryBytes", "elapsedSeconds"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        #expect(json["commitsPerSecond"] == nil)  // the memory store keeps no counters
    }

    @Test func failuresCompensateTheStepsBefore() async throws {
        let workload = SagaBenchmark.Workload(sagas: 30, steps: 4, concurrency: 4, failRate: 1, failStep: 3)
        let report = try await SagaBenchmark.run(.latency, workload: workload, engine: engine())
        #expect(report.compensated == 30)
        #expect(report.actionsRun == 90)
        #expect(report.compensationsRun == 60)
        #expect(report.perStepLatencies.count == 30)
        #expect(report.json["latencyPerStepMs"]?["p50"] != nil)
    }

    @Test func theWorkloadIsTheSameForASeed() {
        let a = SagaBenchmark.Workload(sagas: 500, steps: 4, failRate: 0.3, seed: 7).inputs()
        let b = SagaBenchmark.Workload(sagas: 500, steps: 4, failRate: 0.3, seed: 7).inputs()
        #expect(a == b)
        let failing = a.filter { $0["failAt"] != nil }.count
        #expect(failing > 100 && failing < 200)
        #expect(Set(a.compactMap { $0["failAt"]?.stringValue }) == ["step-1", "step-2", "step-3", "step-4"])
        #expect(SagaBenchmark.Workload(sagas: 50, failRate: 0).inputs().allSatisfy { $0 == .object([:]) })
    }

    @Test(arguments: [
        SagaBenchmark.Workload(sagas: 0),
        SagaBenchmark.Workload(steps: 0),
        SagaBenchmark.Workload(concurrency: 0),
        SagaBenchmark.Workload(failRate: -0.1),
        SagaBenchmark.Workload(steps: 4, failStep: 5),
    ])
    func rejectsWorkloadsOutOfRange(_ workload: SagaBenchmark.Workload) {
        #expect(workload.problem() != nil)
    }

    @Test func percentilesAreNearestRank() {
        let p = SagaBenchmark.Percentiles(seconds: (1...100).map { Double($0) / 1000 })
        #expect(abs(p.p50 - 50) < 1e-9)
        #expect(abs(p.p95 - 95) < 1e-9)
        #expect(abs(p.p99 - 99) < 1e-9)
        #expect(abs(p.max - 100) < 1e-9)
        #expect(SagaBenchmark.Percentiles(seconds: []).p50 == 0)
    }
}
