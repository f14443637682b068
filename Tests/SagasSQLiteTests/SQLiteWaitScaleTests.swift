import Foundation
import Logging
import Sagas
import SagasSQLite
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Many sagas waiting at once on SQLite: they hold no lease and no worker slot, and a signal brings one back at once.
///
/// With `SAGA_WAIT_SCALE=N` (e.g. 10000) it measures N waiting sagas: the worker's CPU and memory while they wait,
/// and the time from a signal to the step's completion (the figures in Docs/performance.md). Without it, 200.
@Suite(.timeLimit(.minutes(10)))
struct SQLiteWaitScaleTests {
    static let definition = SagaDefinition(
        name: "scale",
        version: 1,
        steps: [
            SagaStep(
                name: "pay",
                action: .handler("pay", input: ["token": "${step.token}"]),
                kind: .readonly,
                awaits: StepAwait(timeout: .seconds(86_400))
            ),
            SagaStep(name: "ship", action: .handler("ship"), after: ["pay"], kind: .readonly),
        ]
    )

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }

    static func rssMB() -> Double {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        let kb = Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return kb / 1024
    }

    @Test func waitingSagasCostNoWorker() async throws {
        let count = ProcessInfo.processInfo.environment["SAGA_WAIT_SCALE"].flatMap(Int.init) ?? 200
        let measuring = ProcessInfo.processInfo.environment["SAGA_WAIT_SCALE"] != nil
        let folder = try TemporaryFolder()
        let store = try SQLiteSagaStore(path: folder.path("waits.db"))
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        let engine = SagaEngine(
            store: store,
            configuration: .init(concurrency: 16, pollInterval: .milliseconds(200)),
            logger: logger
        )
        let tokens = Mutex<[String: String]>([:])
        engine.register(handler: "pay") { context in
            if let token = context.input["token"]?.stringValue { tokens.withLock { $0[context.sagaID] = token } }
            return ["accepted": true]
        }
        engine.register(handler: "ship") { _ in ["shipped": true] }

        let idleSeconds: Double = measuring ? 30 : 2
        // The same worker over an empty database first: what idling costs with nothing waiting.
        let baselineWorker = Task { try await engine.run() }
        try await Task.sleep(for: .seconds(1))
        let base0 = Self.cpuSeconds()
        try await Task.sleep(for: .seconds(idleSeconds))
        let baselineCPU = (Self.cpuSeconds() - base0) / idleSeconds
        let baselineRSS = Self.rssMB()
        baselineWorker.cancel()
        _ = try? await baselineWorker.value

        let began = Date()
        for i in 0..<count {
            _ = try await engine.start(Self.definition, input: ["n": .integer(i)], id: "w-\(i)")
        }
        let worker = Task { try await engine.run() }
        defer { worker.cancel() }
        // Every saga reaches its wait.
        while try await store.countByStatus()[.waiting, default: 0] < count {
            try await Task.sleep(for: .milliseconds(100))
            #expect(Date().timeIntervalSince(began) < 540, "not every saga reached its wait")
            if Date().timeIntervalSince(began) > 540 { return }
        }
        let toWaiting = Date().timeIntervalSince(began)
        #expect(tokens.withLock { $0.count } == count)
        // No lease is held on a waiting saga.
        #expect(try await store.leasedSagas(limit: 10).isEmpty)
        let record = try await store.saga(id: "w-0")
        #expect(record?.owner == nil)
        #expect(try await store.wakeTime(sagaID: "w-0") != nil)

        // The worker idles while they wait.
        try await Task.sleep(for: .seconds(1))
        let cpu0 = Self.cpuSeconds()
        try await Task.sleep(for: .seconds(idleSeconds))
        let idleCPU = (Self.cpuSeconds() - cpu0) / idleSeconds
        let rss = Self.rssMB()

        // Signal to completion, one saga at a time.
        var latencies: [Double] = []
        for i in 0..<min(count, 50) {
            let id = "w-\(i)"
            let token = try #require(tokens.withLock { $0[id] })
            let sent = ContinuousClock.now
            try await engine.signal(sagaID: id, step: "pay", token: token, outcome: .output(["charge": "c"]), by: "test")
            while try await store.saga(id: id)?.status != .completed {
                try await Task.sleep(for: .milliseconds(2))
            }
            let elapsed = ContinuousClock.now - sent
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        latencies.sort()
        let median = latencies[latencies.count / 2]
        let p95 = latencies[min(latencies.count - 1, latencies.count * 95 / 100)]
        #expect(try await store.countByStatus()[.completed, default: 0] == min(count, 50))
        let size = (try? FileManager.default.attributesOfItem(atPath: folder.path("waits.db"))[.size] as? Int) ?? 0
        print(
            "wait-scale: empty database: idle worker CPU \(String(format: "%.2f", baselineCPU * 100))% of a core, RSS "
                + "\(String(format: "%.0f", baselineRSS)) MB; "
                + "\(count) sagas waiting after \(String(format: "%.1f", toWaiting)) s; idle worker CPU "
                + "\(String(format: "%.2f", idleCPU * 100))% of a core over \(Int(idleSeconds)) s; RSS "
                + "\(String(format: "%.0f", rss)) MB; signal to completion median \(String(format: "%.0f", median)) ms, "
                + "p95 \(String(format: "%.0f", p95)) ms; database \(size / 1024) KiB"
        )
        // A generous bound, so that the measurement fails if waiting sagas were polled. Only when measuring: the
        // process's CPU time includes whatever other suites run in parallel.
        if measuring { #expect(idleCPU < 0.5, "the idle worker used \(idleCPU * 100)% of a core") }
    }
}
