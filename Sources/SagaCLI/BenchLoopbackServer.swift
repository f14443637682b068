import Hummingbird
import Logging
import Sagas

/// A Hummingbird server on 127.0.0.1 and a free port for the length of a bench run: the OTLP sink of
/// `--observe tracing` and the webhook receiver of `--observe webhooks`.
enum BenchLoopbackServer {
    /// Serves `router`, runs `body` with the bound port, then stops the server.
    ///
    /// - Parameter what: names the server in the error when it does not start ("the loopback trace sink").
    static func serve<T: Sendable>(
        _ router: Router<BasicRequestContext>,
        what: String,
        logger: Logger,
        _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let bound = AsyncStream<Int>.makeStream()
        var quiet = logger
        quiet.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? 0)
                bound.continuation.finish()
            },
            logger: quiet
        )
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService(gracefulShutdownSignals: []) }
            var port = 0
            for await value in bound.stream { port = value }
            guard port > 0 else { throw CLIError("\(what) did not start", exitCode: CLI.ExitCodes.notCompleted) }
            let result = try await body(port)
            group.cancelAll()
            return result
        }
    }
}
