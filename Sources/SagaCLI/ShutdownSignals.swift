import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGTERM and SIGINT for the commands that run steps (`run`, `worker`): the first begins a graceful shutdown (no
/// new attempt starts; attempts in flight get the shutdown grace to finish), a second one cuts the grace short
/// (attempts in flight are stopped and journaled as interrupted). Either way the leases are released and the
/// process ends normally; nothing is left running in a process group of its own.
final class ShutdownSignals: Sendable {
    private let first = Atomic<Int32>(0)
    private let watcher = Mutex<Task<Void, Never>?>(nil)

    /// The name of the first signal caught (`SIGTERM`, `SIGINT`), if any.
    var caught: String? {
        switch first.load(ordering: .acquiring) {
        case UnixSignal.sigterm.rawValue: "SIGTERM"
        case UnixSignal.sigint.rawValue: "SIGINT"
        default: nil
        }
    }

    /// Traps SIGTERM and SIGINT from now on (their default action, ending the process at once, no longer applies).
    init(
        onFirst: @escaping @Sendable () async -> Void,
        onSecond: @escaping @Sendable () -> Void
    ) async {
        // A shell starts a background command with SIGINT ignored, and the signal would then vanish: a worker or
        // `saga run` stops cleanly on SIGINT however it was started.
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let task = Task { [self] in
            var count = 0
            for await signal in signals {
                count += 1
                if count == 1 {
                    self.first.store(signal.rawValue, ordering: .releasing)
                    await onFirst()
                } else {
                    onSecond()
                }
            }
        }
        watcher.withLock { $0 = task }
    }

    /// Stops watching (the signals stay trapped until the process ends).
    func stop() {
        watcher.withLock { $0?.cancel() }
    }
}
