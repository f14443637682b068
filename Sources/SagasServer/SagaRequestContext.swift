public import Hummingbird

/// The request context of ``SagaServer``'s router: who made the request, and how they proved it.
public struct SagaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token's name and role; `nil` until the auth middleware found a valid token or session.
    public var principal: SagaPrincipal?
    /// Whether the principal came from the dashboard's session cookie (forms must then carry the CSRF token).
    public var viaCookie: Bool

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.principal = nil
        self.viaCookie = false
    }

    /// Bodies are read by the server itself with ``SagaServer/Configuration-swift.struct/maxBodyBytes``; this is
    /// Hummingbird's own limit for its decoders, kept the same.
    public var maxUploadSize: Int { SagaServer.Configuration.defaultMaxBodyBytes }
}
