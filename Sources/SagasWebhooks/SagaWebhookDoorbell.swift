import Synchronization

/// Whether a commit rang since the delivery service last answered, and a wait for the next ring: the observer
/// only sets a flag under a lock (it never waits), and a pass whose attempts are all slow still hears it.
final class SagaWebhookDoorbell: Sendable {
    private struct State {
        var rung = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    /// Marks a commit and wakes the waiter, if any.
    func ring() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.rung = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Whether it rang since the last answer; clears it.
    func answer() -> Bool {
        state.withLock { state in
            defer { state.rung = false }
            return state.rung
        }
    }

    /// Returns once it has rung and not been answered (at once if so already), or when the task is cancelled.
    /// One waiter at a time: a second one replaces (and releases) the first.
    func waitForRing() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> CheckedContinuation<Void, Never>? in
                    if state.rung || Task.isCancelled { return continuation }
                    let previous = state.waiter
                    state.waiter = continuation
                    return previous
                }
                resumeNow?.resume()
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}
