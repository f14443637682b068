public import Sagas

extension SagaBenchmark {
    /// The benchmark's workflow for `workload`: `definition(steps:)`, with a named limit `bench` on every step when
    /// `limitConcurrency` is set, and an exclusive key per saga (`bench:${input.n}`) with `exclusiveKeys`.
    public static func definition(for workload: Workload) throws(SagaError) -> SagaDefinition {
        var definition = try definition(steps: workload.steps)
        if let concurrency = workload.limitConcurrency {
            definition.limits = ["bench": SagaLimit(concurrency: concurrency)]
            for i in definition.steps.indices { definition.steps[i].limit = "bench" }
        }
        if workload.exclusiveKeys { definition.exclusive = ["bench:${input.n}"] }
        return definition
    }
}
