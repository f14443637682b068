import Foundation
import Logging
import Prometheus
import Sagas
import SagasMetrics
import Testing

/// The metrics an engine's observer and sampler produce, scraped as Prometheus text after a known mix of sagas.
@Suite struct SagaMetricsTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Steps `a` (compensable) and `b`; `b` fails for good when the input has `failB`, `a`'s undo when it has
    /// `failUndo`.
    static func engine(registry: PrometheusCollectorRegistry) -> SagaEngine {
        var configuration = SagaEngine.Configuration()
        configuration.workerID = "metrics-test"
        configuration.pollInterval = .milliseconds(5)
        let engine = SagaEngine(store: MemorySagaStore(), configuration: configuration, logger: logger)
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = SagaMetrics.histogramBuckets
        engine.add(observer: SagaMetrics(factory: factory))
        engine.register(handler: "a") { _ in ["ok": true] }
        engine.register(handler: "a.undo") { context in
            if context.input["failUndo"] != nil { throw StepFailure.permanent("refund API gone") }
            return ["undone": true]
        }
        engine.register(handler: "b") { context in
            if context.input["failB"] != nil { throw StepFailure.permanent("card declined") }
            return ["ok": true]
        }
        return engine
    }

    static let definition: SagaDefinition = {
        let retry = RetryPolicy(maxAttempts: 1, initialInterval: .milliseconds(1), backoffCoefficient: 2, maxInterval: .milliseconds(1), jitter: .none)
        return SagaDefinition(
            name: "shop",
            version: 1,
            steps: [
                SagaStep(name: "a", action: .handler("a"), compensation: .handler("a.undo"), retry: retry, compensationRetry: retry, timeout: .seconds(5)),
                SagaStep(name: "b", action: .handler("b"), retry: retry, timeout: .seconds(5), after: ["a"], kind: .pivot),
            ]
        )
    }()

    /// The value of the sample line `name{labels}` in `text`, or nil.
    static func value(_ text: String, _ sample: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(sample + " ") {
            return Double(line.dropFirst(sample.count + 1))
        }
        return nil
    }

    @Test func aKnownMixGivesExactlyItsCounts() async throws {
        let registry = PrometheusCollectorRegistry()
        let engine = Self.engine(registry: registry)
        #expect(try await engine.execute(Self.definition, input: [:], id: "ok-1").status == .completed)
        #expect(try await engine.execute(Self.definition, input: [:], id: "ok-2").status == .completed)
        #expect(try await engine.execute(Self.definition, input: ["failB": true], id: "comp-1").status == .compensated)
        #expect(try await engine.execute(Self.definition, input: ["failB": true, "failUndo": true], id: "iv-1").status == .needsIntervention)
        _ = try await engine.resolve("iv-1", .skip(output: nil), by: "dave", note: "refunded by hand")
        #expect(try await engine.run(sagaID: "iv-1").status == .compensated)

        let text = registry.emitToString()
        let expected: [(String, Double)] = [
            (#"saga_started_total{workflow="shop"}"#, 4),
            (#"saga_finished_total{workflow="shop",outcome="completed"}"#, 2),
            (#"saga_finished_total{workflow="shop",outcome="compensated"}"#, 2),
            (#"saga_finished_total{workflow="shop",outcome="needs_intervention"}"#, 1),
            (#"saga_step_attempts_total{workflow="shop",step="a",phase="action",outcome="succeeded"}"#, 4),
            (#"saga_step_attempts_total{workflow="shop",step="b",phase="action",outcome="succeeded"}"#, 2),
            (#"saga_step_attempts_total{workflow="shop",step="b",phase="action",outcome="failed"}"#, 2),
            (#"saga_step_attempts_total{workflow="shop",step="a",phase="compensation",outcome="succeeded"}"#, 1),
            (#"saga_step_attempts_total{workflow="shop",step="a",phase="compensation",outcome="failed"}"#, 1),
            (#"saga_interventions_opened_total{workflow="shop"}"#, 1),
            (#"saga_interventions_resolved_total{workflow="shop",action="skip"}"#, 1),
            (#"saga_duration_seconds_count{workflow="shop",outcome="completed"}"#, 2),
            (#"saga_attempt_duration_seconds_count{workflow="shop",step="a",phase="action"}"#, 4),
        ]
        for (sample, count) in expected {
            #expect(Self.value(text, sample) == count, "\(sample) in:\n\(text)")
        }
        // Nothing else was counted: no unknown or interrupted attempt, no take-over, no probe.
        #expect(!text.contains(#"outcome="unknown""#) && !text.contains(#"outcome="interrupted""#))
        #expect(!text.contains("saga_lease_takeovers_total{"))
        #expect(!text.contains(#"phase="probe""#))
        // Every commit was counted and timed; no label holds a saga id.
        let commits = try #require(Self.value(text, "saga_journal_commits_total"))
        #expect(commits >= 8, "\(text)")
        #expect(Self.value(text, "saga_commit_duration_seconds_count") == commits)
        for id in ["ok-1", "ok-2", "comp-1", "iv-1"] { #expect(!text.contains(id)) }
    }

    @Test func theSamplerSetsTheGaugesFromTheJournal() async throws {
        let registry = PrometheusCollectorRegistry()
        let engine = Self.engine(registry: registry)
        _ = try await engine.execute(Self.definition, input: [:], id: "ok-1")
        _ = try await engine.execute(Self.definition, input: ["failB": true, "failUndo": true], id: "iv-1")
        _ = try await engine.start(Self.definition, input: [:], id: "waiting-1")
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = SagaMetrics.histogramBuckets
        await SagaMetricsSampler(engine: engine, logger: Self.logger, factory: factory).sample()
        let text = registry.emitToString()
        #expect(Self.value(text, #"saga_sagas{status="completed"}"#) == 1, "\(text)")
        #expect(Self.value(text, #"saga_sagas{status="needs_intervention"}"#) == 1)
        #expect(Self.value(text, #"saga_sagas{status="pending"}"#) == 1)
        #expect(Self.value(text, #"saga_sagas{status="failed"}"#) == 0)
        #expect(Self.value(text, "saga_open_interventions") == 1)
        #expect((Self.value(text, "saga_oldest_intervention_age_seconds") ?? -1) >= 0)
        #expect(Self.value(text, "saga_worker_sagas_held") == 0)
    }
}
