/// The one error type of the `Sagas` module (and of the stores built on it).
///
/// A stable ``Code`` for programs, a message for people that names the file, saga or step it is about, and the
/// identifiers as fields. Map it to exit codes or HTTP statuses only at the edge.
public struct SagaError: Error, Sendable, CustomStringConvertible {
    /// A stable, extensible error code.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let base: String
        private init(_ base: String) { self.base = base }

        /// The code's stable name, for example `saga_not_found`.
        public var description: String { base }

        /// JSON text that could not be parsed.
        public static let invalidJSON = Code("invalid_json")
        /// A workflow file with errors; `diagnostics` lists them.
        public static let invalidWorkflow = Code("invalid_workflow")
        /// No workflow file with that name, version or path.
        public static let workflowNotFound = Code("workflow_not_found")
        /// A saga input that does not match the workflow's `input` schema.
        public static let invalidInput = Code("invalid_input")
        /// An argument or option a caller passed is invalid.
        public static let invalidArgument = Code("invalid_argument")
        /// No saga with that id.
        public static let sagaNotFound = Code("saga_not_found")
        /// No webhook subscription or delivery has that id.
        public static let webhookNotFound = Code("webhook_not_found")
        /// A saga with that id exists with another workflow or input.
        public static let sagaConflict = Code("saga_conflict")
        /// The saga is in a state that does not allow the request.
        public static let invalidState = Code("invalid_state")
        /// `createLeased` of a saga whose exclusive keys an earlier saga holds: nothing was written.
        public static let keyBusy = Code("key_busy")
        /// This worker no longer holds the saga's lease: another worker took it over.
        public static let leaseLost = Code("lease_lost")
        /// A journal that does not replay: the state machine refused an event.
        public static let corruptJournal = Code("corrupt_journal")
        /// A template that names a missing value or is malformed.
        public static let templateError = Code("template_error")
        /// No handler registered under the name a step uses.
        public static let handlerNotFound = Code("handler_not_found")
        /// A value too large to journal.
        public static let tooLarge = Code("too_large")
        /// A database that could not be opened or read.
        public static let storageFailure = Code("storage_failure")
        /// A database locked by another process beyond the busy timeout.
        public static let databaseLocked = Code("database_locked")
        /// A read-only database or folder.
        public static let databaseReadOnly = Code("database_read_only")
        /// A file that is not a database, or a corrupt one.
        public static let databaseCorrupt = Code("database_corrupt")
        /// A full disk or a database at its size limit.
        public static let databaseFull = Code("database_full")
        /// A database written by a newer version of Sagas.
        public static let schemaTooNew = Code("schema_too_new")
        /// A database file that does not exist.
        public static let databaseNotFound = Code("database_not_found")
        /// A database server that cannot be reached (refused, closed, shutting down, timed out).
        public static let databaseUnavailable = Code("database_unavailable")
        /// A database server that refused the credentials (wrong password, unknown user, no password given).
        public static let authenticationFailed = Code("authentication_failed")
        /// A signal whose token belongs to no attempt of the step.
        public static let wrongToken = Code("wrong_token")
        /// A signal for an attempt that no longer waits (it timed out, a newer attempt replaced it, the saga
        /// compensates or is finished), or that was already signalled with another outcome.
        public static let staleSignal = Code("stale_signal")
    }

    public var code: Code
    public var message: String
    public var sagaID: String?
    public var step: String?
    public var file: String?
    /// For `.invalidWorkflow`: every problem found.
    public var diagnostics: [WorkflowDiagnostic]

    public init(
        _ code: Code,
        _ message: String,
        sagaID: String? = nil,
        step: String? = nil,
        file: String? = nil,
        diagnostics: [WorkflowDiagnostic] = []
    ) {
        self.code = code
        self.message = message
        self.sagaID = sagaID
        self.step = step
        self.file = file
        self.diagnostics = diagnostics
    }

    public var description: String { message }

    /// Whether waiting and trying again may cure it: a locked, full or unreachable database, or a storage failure
    /// the store could not classify. A worker retries its journal writes while an error is transient, and stops on
    /// the others.
    public var isTransient: Bool { Self.transientCodes.contains(code) }

    /// The codes of ``isTransient`` errors.
    public static let transientCodes: Set<Code> = [.databaseLocked, .databaseFull, .storageFailure, .databaseUnavailable]
}
