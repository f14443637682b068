import AsyncHTTPClient
public import Logging
public import Sagas
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Runs `http` actions on one shared, pooled `HTTPClient` (see Docs/http.md).
///
/// Register it, through its kind (``HTTPActionKind``), on every engine that runs workflows with `http` steps, and
/// call ``shutdown()`` when done:
///
/// ```swift
/// let http = HTTPExecutor(logger: logger)
/// engine.register(kind: HTTPActionKind(executor: http))
/// defer { try? await http.shutdown() }
/// ```
///
/// Every request carries `Idempotency-Key`, `traceparent`, `X-Saga-Id` and `X-Saga-Step`. Host names are resolved
/// by the executor and every address is checked before it connects to one: link-local and cloud metadata
/// addresses are refused unless ``Configuration/allowMetadataAddresses``. A circuit breaker per host delays calls
/// to a host that keeps failing.
public final class HTTPExecutor: StepExecutor, Sendable {
    /// Settings, each with a default.
    public struct Configuration: Sendable {
        /// A response body larger than this fails the attempt for good; reading stops there.
        public var maxResponseBytes: Int
        /// The hosts that steps may call (exact names, or `*.example.com` for its subdomains); `nil`: any host
        /// except the forbidden addresses.
        public var allowedHosts: [String]?
        /// Lets steps call link-local and cloud metadata addresses (`169.254.0.0/16`, `fe80::/10`,
        /// `fd00:ec2::254`, `100.100.100.200`).
        public var allowMetadataAddresses: Bool
        /// Consecutive failures of a host that open its breaker.
        public var failureThreshold: Int
        /// How long an open breaker holds calls back before one trial call.
        public var openDuration: Duration
        /// How long connecting may take; it never extends the step's timeout.
        public var connectTimeout: Duration

        public init(
            maxResponseBytes: Int = 1 << 20,
            allowedHosts: [String]? = nil,
            allowMetadataAddresses: Bool = false,
            failureThreshold: Int = 5,
            openDuration: Duration = .seconds(30),
            connectTimeout: Duration = .seconds(10)
        ) {
            self.maxResponseBytes = maxResponseBytes
            self.allowedHosts = allowedHosts
            self.allowMetadataAddresses = allowMetadataAddresses
            self.failureThreshold = failureThreshold
            self.openDuration = openDuration
            self.connectTimeout = connectTimeout
        }
    }

    /// The most redirects one attempt follows.
    public static let maxRedirects = 5

    public let configuration: Configuration
    /// The per-host circuit breakers: their ``HTTPCircuitBreaker/state(for:)`` is there for tests and metrics.
    public let breakers: HTTPCircuitBreaker
    let logger: Logger
    let resolver: HTTPHostResolver
    let clock: any Clock<Duration>
    let client: HTTPClient
    /// For https to a name: one client per (name, checked address), with AsyncHTTPClient's `dnsOverride`, so that
    /// the connection goes to the checked address while TLS still validates and sends the name (SNI).
    private let pinnedClients = Mutex<[String: HTTPClient]>([:])
    private let isShutDown = Atomic<Bool>(false)

    /// Creates an executor and its `HTTPClient`.
    ///
    /// - Parameters:
    ///   - configuration: limits, allow-list, breaker settings.
    ///   - logger: breaker state changes are logged through it, with `host` metadata.
    ///   - resolver: how host names become addresses (inject one in tests).
    ///   - clock: what an open breaker's wait sleeps on (inject one in tests).
    public init(
        configuration: Configuration = .init(),
        logger: Logger,
        resolver: HTTPHostResolver = .system,
        clock: any Clock<Duration> = ContinuousClock()
    ) {
        self.configuration = configuration
        self.logger = logger
        self.resolver = resolver
        self.clock = clock
        self.breakers = HTTPCircuitBreaker(
            failureThreshold: configuration.failureThreshold,
            openDuration: configuration.openDuration,
            now: HTTPExecutor.monotonicNow(clock),
            logger: logger
        )
        self.client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPExecutor.clientConfiguration(configuration, dnsOverride: [:])
        )
    }

    /// Shuts the HTTP clients down. Call it once, after the engine stops; attempts after it fail.
    public func shutdown() async throws {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let pinned = pinnedClients.withLock { clients in
            defer { clients.removeAll() }
            return Array(clients.values)
        }
        for c in pinned { try? await c.shutdown() }
        try await client.shutdown()
    }

    static func clientConfiguration(_ configuration: Configuration, dnsOverride: [String: String]) -> HTTPClient.Configuration {
        var c = HTTPClient.Configuration()
        c.redirectConfiguration = .disallow
        c.timeout = .init(connect: .nanoseconds(Int64(SagaDuration.milliseconds(configuration.connectTimeout)) * 1_000_000))
        // A refused connection must fail the request now, not wait for the deadline: nothing was sent, so the
        // engine may retry it.
        c.connectionPool.retryConnectionEstablishment = false
        c.dnsOverride = dnsOverride
        // The executor makes each request's span itself, as a child of the attempt's (`HTTPClientSpan`); the
        // client's own span would start a trace of its own, outside the saga's.
        c.tracing.tracer = nil
        return c
    }

    static func monotonicNow<C: Clock>(_ clock: C) -> @Sendable () -> Duration where C.Duration == Duration {
        let origin = clock.now
        return { origin.duration(to: clock.now) }
    }

    func remaining(until deadline: Duration) -> Duration {
        deadline - breakers.now()
    }

    // MARK: Executing

    public func execute(spec: JSONValue, context: StepContext) async -> StepOutcome {
        let prefix = "saga \(context.sagaID), step \(context.step)"
        let request: HTTPStepSpec
        do {
            request = try HTTPStepSpec(spec)
        } catch {
            return .failure(.permanent("\(prefix): \(error.message)"))
        }
        let deadline = breakers.now() + context.timeout
        var method = request.method
        var url = request.url
        var body = request.body
        var first: HTTPTarget?
        var hop = 0
        while true {
            let target: HTTPTarget
            do {
                target = try HTTPTarget(url)
            } catch {
                return .failure(.permanent("\(prefix): \(method) \(HTTPExecutor.safeDisplay(url)): \(error.message)"))
            }
            let what = "\(prefix): \(method) \(target.displayURL)"
            if let origin = first, !target.sameOrigin(as: origin) {
                return .failure(.permanent("\(what): redirect to another host, scheme or port refused (from \(origin.authority))"))
            }
            let attempt = await send(
                method: method,
                target: target,
                body: body,
                request: request,
                context: context,
                deadline: deadline,
                what: what
            )
            switch attempt {
            case .outcome(let outcome):
                return outcome
            case .redirect(let status, let location):
                guard request.followRedirects else {
                    return .failure(.permanent("\(what): \(status) redirect not followed (set followRedirects to follow it)"))
                }
                guard hop < HTTPExecutor.maxRedirects else {
                    return .failure(.permanent("\(what): more than \(HTTPExecutor.maxRedirects) redirects"))
                }
                guard let next = URL(string: location, relativeTo: URL(string: url)) else {
                    return .failure(.permanent("\(what): \(status) redirect to an invalid location"))
                }
                hop += 1
                first = first ?? target
                url = next.absoluteString
                if status == 303 || ((status == 301 || status == 302) && method == "POST") {
                    method = method == "HEAD" ? "HEAD" : "GET"
                    body = nil
                }
            }
        }
    }

    enum Attempt {
        case outcome(StepOutcome)
        case redirect(status: Int, location: String)
    }

    /// One request: check, wait for the breaker, send, classify.
    private func send(
        method: String,
        target: HTTPTarget,
        body: JSONValue?,
        request spec: HTTPStepSpec,
        context: StepContext,
        deadline: Duration,
        what: String
    ) async -> Attempt {
        if isShutDown.load(ordering: .acquiring) {
            return .outcome(.failure(.retryable("\(what): the HTTP executor is shut down")))
        }
        if let allowed = configuration.allowedHosts, !HTTPExecutor.isAllowed(target.host, by: allowed) {
            return .outcome(.failure(.permanent("\(what): host \(target.host) is not in the allowed hosts")))
        }
        // The address actually connected to is one that was checked.
        let address: HTTPAddress
        if let numeric = HTTPAddress(numeric: target.host) {
            if !configuration.allowMetadataAddresses && numeric.isLinkLocalOrMetadata {
                return .outcome(.failure(.permanent(
                    "\(what): refused: \(target.host) is the link-local or metadata address \(numeric)"
                )))
            }
            address = numeric
        } else {
            let addresses: [HTTPAddress]
            do {
                addresses = try await resolver.resolve(target.host)
            } catch {
                if Task.isCancelled { return .outcome(.unknown("\(what): cancelled")) }
                return .outcome(.failure(.retryable("\(what): \(error)")))
            }
            guard let chosen = addresses.first else {
                return .outcome(.failure(.retryable("\(what): \(target.host) has no address")))
            }
            if !configuration.allowMetadataAddresses,
                let bad = addresses.first(where: \.isLinkLocalOrMetadata)
            {
                return .outcome(.failure(.permanent(
                    "\(what): refused: \(target.host) resolves to the link-local or metadata address \(bad)"
                )))
            }
            address = chosen
        }

        // The breaker delays; it never fails a call by itself, unless the wait outlasts the attempt's timeout.
        let breakerKey = "\(target.host):\(target.port)"
        var trial = false
        while true {
            switch breakers.admit(breakerKey) {
            case .proceed(let isTrial):
                trial = isTrial
            case .wait(let wait):
                let left = remaining(until: deadline)
                if wait >= left {
                    return .outcome(.failure(.retryable(
                        "\(what): the circuit breaker for \(target.authority) is open",
                        after: wait
                    )))
                }
                do {
                    try await clock.sleep(for: wait)
                } catch {
                    return .outcome(.unknown("\(what): cancelled while the circuit breaker was open"))
                }
                continue
            }
            break
        }

        let span = HTTPClientSpan(method: method, target: target, address: address, context: context)
        let result = await perform(
            span: span,
            method: method,
            target: target,
            address: address,
            body: body,
            spec: spec,
            context: context,
            deadline: deadline,
            what: what
        )
        switch result.health {
        case .healthy: breakers.record(breakerKey, healthy: true)
        case .unhealthy: breakers.record(breakerKey, healthy: false)
        case .unknown: if trial { breakers.abandonTrial(breakerKey) }
        }
        span.end(result.attempt)
        return result.attempt
    }

    enum Health { case healthy, unhealthy, unknown }

    private func perform(
        span: HTTPClientSpan,
        method: String,
        target: HTTPTarget,
        address: HTTPAddress,
        body: JSONValue?,
        spec: HTTPStepSpec,
        context: StepContext,
        deadline: Duration,
        what: String
    ) async -> (attempt: Attempt, health: Health) {
        let client: HTTPClient
        var request: HTTPClientRequest
        if target.scheme == "https" && HTTPAddress(numeric: target.host) == nil {
            client = pinnedClient(host: target.host, address: address)
            request = HTTPClientRequest(url: "https://\(target.authority)\(target.pathAndQuery)")
        } else {
            client = self.client
            let port = target.isDefaultPort ? "" : ":\(target.port)"
            request = HTTPClientRequest(url: "\(target.scheme)://\(address.urlHost)\(port)\(target.pathAndQuery)")
            request.headers.replaceOrAdd(name: "Host", value: target.authority)
        }
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in spec.headers where name.lowercased() != "host" {
            request.headers.add(name: name, value: value)
        }
        request.headers.replaceOrAdd(name: "Idempotency-Key", value: context.idempotencyKey)
        request.headers.replaceOrAdd(name: "traceparent", value: span.traceparent(context))
        request.headers.replaceOrAdd(name: "X-Saga-Id", value: context.sagaID)
        request.headers.replaceOrAdd(name: "X-Saga-Step", value: context.step)
        if !request.headers.contains(name: "User-Agent") { request.headers.add(name: "User-Agent", value: "sagas") }
        if let body {
            let bytes: String
            if case .string(let text) = body {
                bytes = text
                if !request.headers.contains(name: "Content-Type") {
                    request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                }
            } else {
                bytes = body.jsonString
                if !request.headers.contains(name: "Content-Type") {
                    request.headers.add(name: "Content-Type", value: "application/json")
                }
            }
            request.body = .bytes(ByteBuffer(string: bytes))
        }

        let left = remaining(until: deadline)
        guard left > .zero else {
            return (.outcome(.unknown("\(what): timed out")), .unknown)
        }
        let timeout = TimeAmount.nanoseconds(Int64(SagaDuration.milliseconds(left)) * 1_000_000)
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: timeout, logger: nil)
        } catch {
            span.failed(error)
            return classify(error, what: what, phase: context.phase)
        }

        let status = Int(response.status.code)
        span.received(status: status)
        let isHead = method == "HEAD"
        var data = [UInt8]()
        var tooLarge = false
        if !isHead {
            if let length = response.headers.first(name: "Content-Length").flatMap(Int.init),
                length > configuration.maxResponseBytes
            {
                tooLarge = true
            } else {
                do {
                    for try await chunk in response.body {
                        if data.count + chunk.readableBytes > configuration.maxResponseBytes {
                            tooLarge = true
                            break
                        }
                        data.append(contentsOf: chunk.readableBytesView)
                    }
                } catch {
                    return classify(error, what: "\(what): \(status) response body", phase: context.phase, afterResponse: true)
                }
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        let succeeded = spec.successStatus.map { $0.contains(status) } ?? (200...299).contains(status)
        let statusText = "\(status) \(response.status.reasonPhrase)"

        if succeeded {
            if tooLarge {
                return (.outcome(.failure(.permanent(
                    "\(what): \(statusText): response larger than \(HTTPExecutor.formatBytes(configuration.maxResponseBytes))"
                ))), .healthy)
            }
            return (.outcome(.success(output(status: status, headers: response.headers, text: text, keep: spec.keepHeaders))), .healthy)
        }
        // Redacted before it is cut: a secret cut in two at the 200th character would not be recognised whole.
        let snippet = HTTPExecutor.snippet(context.redactor.redact(text))
        let message = "\(what): \(statusText)" + (snippet.isEmpty ? "" : ": \(snippet)")
        if context.phase == .probe {
            if status == 404 { return (.outcome(.notHappened), .healthy) }
            let unhealthy = status >= 500 || [408, 425, 429].contains(status)
            return (.outcome(.failure(.retryable("probe could not tell: \(message)"))), unhealthy ? .unhealthy : .healthy)
        }
        if (300...399).contains(status) {
            guard let location = response.headers.first(name: "Location") else {
                return (.outcome(.failure(.permanent("\(message) (redirect without a Location)"))), .healthy)
            }
            return (.redirect(status: status, location: location), .healthy)
        }
        if status >= 500 || [408, 425, 429].contains(status) {
            let after = response.headers.first(name: "Retry-After").flatMap { HTTPRetryAfter.parse($0) }
            return (.outcome(.failure(.retryable(message, after: after))), .unhealthy)
        }
        return (.outcome(.failure(.permanent(message))), .healthy)
    }

    /// The step's output: the body, or `{"status", "headers", "body"}` when the step keeps headers.
    func output(status: Int, headers: HTTPHeaders, text: String, keep: [String]) -> JSONValue {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let body: JSONValue
        if trimmed.isEmpty {
            body = .null
        } else if let parsed = try? JSONValue(parsing: trimmed) {
            body = parsed
        } else {
            body = .string(text)
        }
        guard !keep.isEmpty else { return body }
        var kept: [String: JSONValue] = [:]
        for name in keep {
            let values = headers[name]
            if !values.isEmpty { kept[name.lowercased()] = .string(values.joined(separator: ", ")) }
        }
        return .object(["status": .integer(status), "headers": .object(kept), "body": body])
    }

    /// Nothing sent (no connection) → retryable; anything after the request may have been sent → unknown.
    private func classify(
        _ error: any Error,
        what: String,
        phase: StepPhase,
        afterResponse: Bool = false
    ) -> (attempt: Attempt, health: Health) {
        if Task.isCancelled || error is CancellationError || (error as? HTTPClientError) == .cancelled {
            return (.outcome(.unknown("\(what): cancelled")), .unknown)
        }
        let description = HTTPExecutor.describe(error)
        if !afterResponse && HTTPExecutor.isConnectFailure(error) {
            return (.outcome(.failure(.retryable("\(what): cannot connect: \(description)"))), .unhealthy)
        }
        if phase == .probe {
            return (.outcome(.failure(.retryable("probe could not tell: \(what): \(description)"))), .unhealthy)
        }
        return (.outcome(.unknown("\(what): no complete response: \(description)")), .unhealthy)
    }

    static func isConnectFailure(_ error: any Error) -> Bool {
        if let e = error as? HTTPClientError {
            return e == .connectTimeout || e == .getConnectionFromPoolTimeout || e == .socksHandshakeTimeout
                || e == .httpProxyHandshakeTimeout
        }
        if error is NIOConnectionError { return true }
        if let e = error as? ChannelError, case .connectTimeout = e { return true }
        if let e = error as? IOError {
            return [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(e.errnoCode)
        }
        return false
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError { return e.description }
        if let e = error as? IOError { return String(cString: strerror(e.errnoCode)) }
        if error is NIOConnectionError { return "connection failed" }
        return "\(error)"
    }

    private func pinnedClient(host: String, address: HTTPAddress) -> HTTPClient {
        let key = "\(host)|\(address)"
        return pinnedClients.withLock { clients in
            if let existing = clients[key] { return existing }
            let created = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPExecutor.clientConfiguration(configuration, dnsOverride: [host: address.description])
            )
            clients[key] = created
            return created
        }
    }

    static func isAllowed(_ host: String, by allowed: [String]) -> Bool {
        allowed.contains { entry in
            var pattern = entry.lowercased().trimmingCharacters(in: .whitespaces)
            while pattern.hasSuffix(".") { pattern.removeLast() }
            if pattern.hasPrefix("[") && pattern.hasSuffix("]") { pattern = String(pattern.dropFirst().dropLast()) }
            if pattern.hasPrefix("*.") { return host.hasSuffix(pattern.dropFirst()) }
            return host == pattern
        }
    }

    static func snippet(_ text: String) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ").trimmingCharacters(in: .whitespaces)
        return flat.count > 200 ? String(flat.prefix(200)) + "…" : flat
    }

    static func formatBytes(_ n: Int) -> String {
        if n >= 1 << 20 && n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n >= 1 << 10 && n % (1 << 10) == 0 { return "\(n >> 10) KiB" }
        return "\(n) bytes"
    }

    /// A URL for a message: no query, no user information.
    static func safeDisplay(_ url: String) -> String {
        guard var c = URLComponents(string: url) else { return "(invalid URL)" }
        c.query = nil
        c.user = nil
        c.password = nil
        c.fragment = nil
        return c.string ?? "(invalid URL)"
    }
}
