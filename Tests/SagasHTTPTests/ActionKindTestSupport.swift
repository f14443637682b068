import Sagas
import SagasCommand
import SagasHTTP

extension SagaActionKinds {
    /// The CLI's kinds, `http` and `command`: what the shipped workflows and the validation tests use.
    static let standard = SagaActionKinds([HTTPActionKind(), CommandActionKind()])
}
