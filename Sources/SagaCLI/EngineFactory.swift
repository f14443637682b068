import ArgumentParser
import Foundation
import Logging
import Sagas
import SagasCommand
import SagasHTTP
import Synchronization

/// `--allow-host`: which hosts `http` steps may call.
struct HTTPOptions: ParsableArguments {
    @Option(
        name: .customLong("allow-host"),
        help: ArgumentHelp(
            "A host that http steps may call (repeat it; *.example.com allows subdomains).",
            discussion: "Default: $SAGA_HTTP_ALLOW (comma-separated), else any host but link-local and metadata addresses.",
            valueName: "host"
        )
    )
    var allowHosts: [String] = []

    /// `--allow-host`, else `$SAGA_HTTP_ALLOW`; `nil` allows any host (but link-local and metadata addresses).
    var allowedHostList: [String]? {
        var allowed = allowHosts
        if allowed.isEmpty, let env = ProcessInfo.processInfo.environment["SAGA_HTTP_ALLOW"] {
            allowed = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return allowed.isEmpty ? nil : allowed
    }
}

/// Makes every engine the CLI uses, with the `http` and `command` kinds registered (their rules and executors).
enum EngineFactory {
    /// The process's HTTP executor, made when the first `http` step runs.
    private static let http = Mutex<HTTPExecutor?>(nil)

    /// An engine on `store` whose `http` steps run on the process's shared ``HTTPExecutor``.
    static func makeEngine(
        store: any SagaStore,
        configuration: SagaEngine.Configuration = .init(),
        logger: Logger,
        http options: HTTPOptions? = nil
    ) -> SagaEngine {
        let engine = SagaEngine(store: store, configuration: configuration, logger: logger)
        var allowed = options?.allowHosts ?? []
        if allowed.isEmpty, let env = ProcessInfo.processInfo.environment["SAGA_HTTP_ALLOW"] {
            allowed = env.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        var httpConfiguration = HTTPExecutor.Configuration()
        httpConfiguration.allowedHosts = allowed.isEmpty ? nil : allowed
        // In the order of `kinds`, so that the engine's diagnostics list the kinds as the CLI's do.
        engine.register(kind: HTTPActionKind(executor: LazyHTTPExecutor(configuration: httpConfiguration, logger: logger)))
        // A CommandExecutor with the configuration's output limit and environment.
        engine.register(kind: CommandActionKind())
        return engine
    }

    /// The action kinds every workflow the CLI loads may use: `http` and `command`, then the core's.
    static let kinds = SagaActionKinds([HTTPActionKind(), CommandActionKind(makesExecutor: false)])

    fileprivate static func executor(configuration: HTTPExecutor.Configuration, logger: Logger) -> HTTPExecutor {
        http.withLock { current in
            if let current { return current }
            let made = HTTPExecutor(configuration: configuration, logger: logger)
            current = made
            return made
        }
    }

    /// Shuts the HTTP executor down if one was made. Commands that run steps call it when they are done.
    static func shutdown() async {
        let executor = http.withLock { $0 }
        try? await executor?.shutdown()
    }
}

/// Makes the HTTP client only when an `http` step runs, so `saga list` and friends start no threads.
private struct LazyHTTPExecutor: StepExecutor {
    var configuration: HTTPExecutor.Configuration
    var logger: Logger

    func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        await EngineFactory.executor(configuration: configuration, logger: logger).execute(spec: spec, context: context)
    }
}
