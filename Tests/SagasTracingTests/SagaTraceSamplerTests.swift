import Foundation
import InMemoryTracing
import Logging
import Sagas
import SagasTracing
import Synchronization
import Testing

/// `OTEL_TRACES_SAMPLER` as ``SagaTraceSampler`` reads it, and what ``SagaDistributedTracer`` makes of its decisions.
@Suite struct SagaTraceSamplerTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test(arguments: [
        (nil, nil, "parentbased_always_on", false),
        ("", "0.5", "parentbased_always_on", false),
        ("always_on", nil, "always_on", false),
        ("ALWAYS_OFF", nil, "always_off", false),
        ("traceidratio", "0.25", "traceidratio(0.25)", false),
        ("traceidratio", nil, "traceidratio(1.0)", false),
        ("parentbased_always_off", nil, "parentbased_always_off", false),
        ("parentbased_traceidratio", " 0.1 ", "parentbased_traceidratio(0.1)", false),
        ("parentbased_traceidratio", "2", "parentbased_traceidratio(1.0)", true),
        ("parentbased_traceidratio", "a tenth", "parentbased_traceidratio(1.0)", true),
        ("jaeger_remote", nil, "parentbased_always_on", true),
    ] as [(String?, String?, String, Bool)])
    func theStandardVariablesAreRead(sampler: String?, argument: String?, expected: String, complains: Bool) {
        let (parsed, problem) = SagaTraceSampler.parse(sampler: sampler, argument: argument)
        #expect(parsed.description == expected)
        #expect((problem != nil) == complains, "\(problem ?? "no problem")")
    }

    @Test func theRatioTestReadsTheTraceIDAsSwiftOTelDoes() {
        // swift-otel loads bytes 8 to 15 of the id as a little-endian UInt64: byte 8 is the lowest.
        let low = String(repeating: "0", count: 16) + "0100000000000000"
        let high = String(repeating: "0", count: 16) + "00000000000000ff"
        let lowTrace = SagaTraceContext(traceID: low, spanID: "00f067aa0ba902b7")
        let highTrace = SagaTraceContext(traceID: high, spanID: "00f067aa0ba902b7")
        let tenth = SagaTraceSampler(root: .traceIDRatio(0.1), parentBased: false)
        #expect(tenth.isSampled(sagaID: "x", parent: lowTrace))
        #expect(!tenth.isSampled(sagaID: "x", parent: highTrace))
        let none = SagaTraceSampler(root: .traceIDRatio(0), parentBased: false)
        #expect(!none.isSampled(sagaID: "x", parent: lowTrace))
    }

    @Test func parentBasedFollowsTheCallerAndSamplesRootsByRatio() {
        let sampler = SagaTraceSampler(root: .traceIDRatio(0), parentBased: true)
        let sampledCaller = SagaTraceContext(traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7")
        let unsampledCaller = SagaTraceContext(
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", flags: "00"
        )
        #expect(sampler.isSampled(sagaID: "s-1", parent: sampledCaller), "a sampled caller is followed")
        #expect(!sampler.isSampled(sagaID: "s-1", parent: unsampledCaller), "so is one that did not sample")
        #expect(!sampler.isSampled(sagaID: "s-1", parent: .derived(sagaID: "s-1")), "a root is the ratio's (0)")
        let alwaysOn = SagaTraceSampler.parentBasedAlwaysOn
        #expect(alwaysOn.isSampled(sagaID: "s-1", parent: .derived(sagaID: "s-1")))
        #expect(!alwaysOn.isSampled(sagaID: "s-1", parent: unsampledCaller))
    }

    /// Runs `count` one-step sagas on an engine traced with `sampler`; returns the tracer and the `traceparent`
    /// each saga's step was given.
    static func run(count: Int, sampler: SagaTraceSampler) async throws -> (InMemoryTracer, [String: String]) {
        let tracer = InMemoryTracer()
        var configuration = SagaEngine.Configuration()
        configuration.pollInterval = .milliseconds(5)
        let engine = SagaEngine(store: MemorySagaStore(), configuration: configuration, logger: logger)
        engine.use(tracer: SagaDistributedTracer(tracer: tracer, sampler: sampler))
        let seen = Mutex<[String: String]>([:])
        engine.register(handler: "h") { context in
            seen.withLock { $0[context.sagaID] = context.propagatedTraceparent }
            return [:]
        }
        let definition = SagaDefinition(
            name: "sampled",
            version: 1,
            steps: [SagaStep(name: "one", action: .handler("h"), timeout: .seconds(5))]
        )
        for index in 0..<count {
            #expect(try await engine.execute(definition, input: [:], id: "s-\(index)").status == .completed)
        }
        return (tracer, seen.withLock { $0 })
    }

    @Test func aSagaTheSamplerDropsMakesNoSpanAndPassesOnItsTraceUnsampled() async throws {
        let sampler = SagaTraceSampler(root: .traceIDRatio(0.5), parentBased: true)
        let (tracer, seen) = try await Self.run(count: 200, sampler: sampler)
        let runs = tracer.finishedSpans.filter { $0.operationName == "saga sampled" }
        let attempts = tracer.finishedSpans.filter { $0.operationName == "action one" }
        let expected = (0..<200).filter { sampler.isSampled(sagaID: "s-\($0)", parent: .derived(sagaID: "s-\($0)")) }
        #expect(runs.count == expected.count)
        #expect(attempts.count == expected.count)
        #expect((60...140).contains(expected.count), "about half of 200 traces: \(expected.count)")
        for index in 0..<200 {
            let id = "s-\(index)"
            let traceparent = try #require(seen[id])
            let trace = SagaTraceContext.derived(sagaID: id)
            #expect(traceparent.hasPrefix("00-\(trace.traceID)-") || expected.contains(index), "\(traceparent)")
            if !expected.contains(index) {
                #expect(traceparent.hasSuffix("-00"), "a dropped saga's step is told it is not sampled: \(traceparent)")
            }
        }
    }

    @Test func alwaysOnTracesEverySaga() async throws {
        let (tracer, seen) = try await Self.run(count: 20, sampler: .alwaysOn)
        #expect(tracer.finishedSpans.filter { $0.operationName == "saga sampled" }.count == 20)
        #expect(tracer.finishedSpans.filter { $0.operationName == "action one" }.count == 20)
        #expect(seen.values.allSatisfy { !$0.hasSuffix("-00") })
    }
}
