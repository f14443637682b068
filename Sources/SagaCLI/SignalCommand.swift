import ArgumentParser
import Foundation
import Logging
import Sagas

struct SignalCommand: SagaSubcommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Tell a waiting step how the work its action started ended (a callback).",
        discussion: """
            A step with "await" calls its action, which passes on the attempt's callback token (${step.token}), then \
            waits for a signal or for its wait's timeout. The token authorizes the signal and names the attempt. \
            --output succeeds the step with that output (JSON, @FILE or -); --error fails the attempt, and the \
            step's retry policy decides what follows (--permanent: no retries). The saga becomes runnable at once; \
            any worker carries it on.

            The same signal twice is accepted once (exit 0, "duplicate"); a signal for an attempt that no longer \
            waits (its wait timed out, a newer attempt runs, the saga compensates) is refused (exit 4, \
            stale_signal); a token of no attempt of the step is refused (exit 2, wrong_token). A signal that comes \
            while a worker still runs the step's call waits for it (up to --patience), and settles the step as \
            soon as the call returns.

            Examples:
              saga signal s-123 pay --token 5f0c… --output '{"charge": "ch_1"}'
              saga signal s-123 pay --token 5f0c… --error "card declined" --permanent
            """
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The saga's id.")
    var id: String
    @Argument(help: "The waiting step's name.")
    var step: String
    @Option(help: "The attempt's callback token (what ${step.token} gave the action).")
    var token: String
    @Option(help: "The step's output: JSON text, @FILE or - (standard input).")
    var output: String?
    @Option(help: "The work failed: why.")
    var error: String?
    @Flag(help: "With --error: the failure is final; the step is not retried.")
    var permanent = false
    @Option(help: "Who sends the signal (journaled as its `by`). Default: the current user.")
    var by: String?
    @Option(help: "How long to wait for a worker that runs the saga to release it, in seconds.")
    var patience: Int = 10
    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func execute() async throws {
        guard (output == nil) != (error == nil) else {
            throw CLIError("choose exactly one of --output and --error", exitCode: CLI.ExitCodes.invalidInput)
        }
        if permanent && error == nil {
            throw CLIError("--permanent goes with --error", exitCode: CLI.ExitCodes.invalidInput)
        }
        let outcome: SagaSignalOutcome
        if let output {
            var option = InputOption()
            option.input = output
            outcome = .output(try option.value())
        } else {
            outcome = .error(error ?? "", permanent: permanent)
        }
        let logger = global.makeLogger(defaultLevel: .warning)
        let store = try await global.openStore(.write)
        let engine = EngineFactory.makeEngine(store: store, logger: logger)
        let by = by ?? ResolveCommand.currentUser()
        let result = try await CLI.guarded {
            try await engine.client.signal(
                sagaID: id, step: step, token: token, outcome: outcome, by: by,
                patience: .seconds(max(0, patience))
            )
        }
        if json {
            CLI.printJSON([
                "saga": .string(result.record.id),
                "step": .string(step),
                "attempt": .integer(result.attempt),
                "disposition": .string(result.disposition),
                "seq": .integer(result.seq),
                "status": .string(result.record.status.rawValue),
            ])
        } else {
            print("signal \(result.disposition): saga \(result.record.id), step \(step), attempt \(result.attempt) "
                  + "(saga \(result.record.status.rawValue))")
        }
    }
}
