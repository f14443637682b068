import AsyncHTTPClient
public import Foundation
public import Logging
import NIOCore
import NIOHTTP1
public import Sagas
public import SagasHTTP
public import ServiceLifecycle
import Synchronization

/// Delivers lifecycle events to webhook subscriptions: the journal is the outbox.
///
/// Each pass (every ``Configuration/pollInterval``, or sooner when ``observer`` saw a commit):
/// 1. For each subscription that is not disabled, reads committed journal events past its position
///    (`SagaStoreWebhooks.webhookFeed`), and queues the lifecycle events it wants as deliveries while moving its
///    position, in one transaction (compare-and-set: two workers never queue one event twice).
/// 2. Leases due deliveries (the earliest pending one of each saga per subscription, so a saga's events arrive in
///    order), POSTs them signed (`webhook-id`, `webhook-timestamp`, `webhook-signature`), and records the outcome:
///    2xx delivers; 410 fails it and disables the subscription; anything else (other statuses, timeouts, refused
///    connections) is retried on ``Configuration/schedule``, or after `Retry-After` when the receiver sends one;
///    when the schedule is exhausted the delivery is kept as failed (replayable). A subscription failing without a
///    success for ``Configuration/pauseAfter`` is paused.
///
/// A delivery is leased while it is sent: a worker killed mid-delivery leaves it to be sent again when the lease
/// expires, with the same `webhook-id`. Secrets are never logged.
public final class SagaWebhookService: Service, Sendable {
    public struct Configuration: Sendable {
        /// The lease holder's name (the worker's id).
        public var owner: String
        /// How often a pass runs when no commit wakes it. Default 100 ms.
        public var pollInterval: Duration
        /// Deliveries in flight at once. Default 32.
        public var concurrency: Int
        /// How long a delivery is leased while it is sent; it must outlast ``timeout``. Default 30 s.
        public var leaseDuration: Duration
        /// How long one attempt may take, connection included. Default 10 s.
        public var timeout: Duration
        /// When failed attempts are retried. Default ``SagaWebhookRetrySchedule/standard``.
        public var schedule: SagaWebhookRetrySchedule
        /// A subscription failing for this long without one success is paused. Default 3 days.
        public var pauseAfter: Duration
        /// When set, webhook hosts must match one entry (as `--allow-host` for `http` steps).
        public var allowedHosts: [String]?
        /// Lets link-local and metadata addresses through (tests only). Default `false`.
        public var allowMetadataAddresses: Bool
        /// The longest `Retry-After` honoured. Default 24 h.
        public var maxRetryAfter: Duration

        public init(
            owner: String,
            pollInterval: Duration = .milliseconds(100),
            concurrency: Int = 32,
            leaseDuration: Duration = .seconds(30),
            timeout: Duration = .seconds(10),
            schedule: SagaWebhookRetrySchedule = .standard,
            pauseAfter: Duration = .seconds(3 * 86_400),
            allowedHosts: [String]? = nil,
            allowMetadataAddresses: Bool = false,
            maxRetryAfter: Duration = .seconds(86_400)
        ) {
            self.owner = owner
            self.pollInterval = pollInterval
            self.concurrency = concurrency
            self.leaseDuration = leaseDuration
            self.timeout = timeout
            self.schedule = schedule
            self.pauseAfter = pauseAfter
            self.allowedHosts = allowedHosts
            self.allowMetadataAddresses = allowMetadataAddresses
            self.maxRetryAfter = maxRetryAfter
        }
    }

    public let store: any SagaStoreWebhooks
    public let configuration: Configuration
    let logger: Logger
    let resolver: HTTPHostResolver
    private let wakeStream: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation
    /// Set by every wake-up, cleared by a pass that queues the feed: a pass in progress queues commits that came
    /// after it started without waiting for the next poll.
    private let doorbell = SagaWebhookDoorbell()
    /// Subscriptions this service disabled (a 410): their deliveries claimed in a pass begun before are not sent.
    private let disabledNow = Mutex<Set<String>>([])

    /// - Parameters:
    ///   - store: Where subscriptions, deliveries and the journal are.
    ///   - resolver: How host names become addresses for the address guard (inject one in tests).
    public init(
        store: any SagaStoreWebhooks,
        configuration: Configuration,
        logger: Logger,
        resolver: HTTPHostResolver = .system
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.resolver = resolver
        (wakeStream, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// An observer to add to the engine (`engine.add(observer:)`): each commit wakes the service early. Only a
    /// hint: the service reads the journal, never the notices.
    public var observer: any SagaObserver { WakeObserver(continuation: wakeContinuation, doorbell: doorbell) }

    /// Asks for a pass now.
    public func wake() {
        doorbell.ring()
        wakeContinuation.yield()
    }

    public func run() async throws {
        let client = SagaWebhookClients()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [wakeContinuation, configuration] in
                    while !Task.isCancelled {
                        try? await Task.sleep(for: configuration.pollInterval)
                        wakeContinuation.yield()
                    }
                }
                for await _ in wakeStream {
                    var again = true
                    while again && !Task.isCancelled {
                        again = await pass(client: client)
                    }
                }
                group.cancelAll()
            }
        } onGracefulShutdown: { [wakeContinuation] in
            // Stops between passes: a pass in progress finishes its attempts and records them.
            wakeContinuation.finish()
        }
        await client.shutdown()
    }

    /// Waits until no delivery is due and every committed event is queued (`saga worker --until-idle`): the
    /// current attempt of each due delivery has been made. Gives up after `timeout`.
    public func drain(timeout: Duration = .seconds(600)) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while clock.now < deadline {
            wake()
            let backlog = try await store.webhookBacklog(now: Date())
            if backlog.due == 0 && backlog.unqueued == 0 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        logger.warning("webhook deliveries still due after \(timeout); stopping anyway")
    }

    /// One pass; returns whether there may be more to do at once.
    ///
    /// Deliveries are pipelined: as soon as one attempt ends, its slot is refilled (the next event of that saga may
    /// be due now), and the feed is queued again every ``Configuration/pollInterval``, until nothing is due and
    /// nothing is in flight.
    func pass(client: SagaWebhookClients) async -> Bool {
        do {
            var subscriptions = try await store.webhookSubscriptions()
            guard !subscriptions.isEmpty else { return false }
            _ = doorbell.answer()
            var more = try await queueAll(subscriptions)
            let clock = ContinuousClock()
            var lastQueued = clock.now
            try await withThrowingTaskGroup(of: PassStep.self) { group in
                var inFlight = 0
                var listening = false
                // Whether the last wait ended by a ring: then only newly queued events are claimed (a ring is not
                // a free slot, and claims scan the due deliveries).
                var rang = false
                while !Task.isCancelled {
                    // Queue what was committed since: soon after a commit rang (at most every
                    // `minimumQueueInterval`, which bounds the feed reads under load), else every poll interval.
                    let sinceQueued = clock.now - lastQueued
                    var queuedNow = false
                    if sinceQueued >= configuration.pollInterval
                        || (sinceQueued >= Self.minimumQueueInterval && doorbell.answer())
                    {
                        subscriptions = try await store.webhookSubscriptions()
                        queuedNow = try await queueAll(subscriptions)
                        more = queuedNow || more
                        lastQueued = clock.now
                    }
                    // Claims are writes (and scan the due deliveries): refill in batches, once half the slots
                    // are free or new events were queued, not after every attempt.
                    let free = configuration.concurrency - inFlight
                    var claimed: [SagaWebhookDelivery] = []
                    let refill = !rang && (inFlight == 0 || free * 2 >= configuration.concurrency)
                    if refill || (queuedNow && free > 0) {
                        let now = Date()
                        claimed = try await store.claimWebhookDeliveries(
                            owner: configuration.owner,
                            now: now,
                            leaseUntil: now.addingTimeInterval(Self.seconds(configuration.leaseDuration)),
                            limit: free
                        )
                    }
                    for delivery in claimed {
                        // The pass's list of subscriptions may predate a 410 answered in it.
                        guard let subscription = subscriptions.first(where: { $0.id == delivery.subscriptionID }),
                            subscription.state != .disabled,
                            !disabledNow.withLock({ $0.contains(subscription.id) })
                        else {
                            continue
                        }
                        inFlight += 1
                        group.addTask {
                            await self.deliver(delivery, to: subscription, client: client)
                            return .attempted
                        }
                    }
                    if inFlight == 0 { break }
                    // A commit while every attempt in flight is slow must not wait for one of them to end.
                    if !listening {
                        listening = true
                        group.addTask { [doorbell] in
                            await doorbell.waitForRing()
                            try? await Task.sleep(for: Self.minimumQueueInterval)
                            return .rang
                        }
                    }
                    // Wait for one attempt to end (or a commit to ring), then refill.
                    switch try await group.next() {
                    case .attempted:
                        inFlight -= 1
                        rang = false
                    case .rang:
                        listening = false
                        rang = true
                    case nil: inFlight = 0
                    }
                }
                group.cancelAll()
            }
            return more
        } catch {
            if !(error is CancellationError) { logger.error("webhook pass failed: \(error)") }
            return false
        }
    }

    /// What ended a wait inside a pass.
    enum PassStep: Sendable {
        case attempted
        case rang
    }

    /// The shortest time between two readings of the feed inside a pass, however often commits ring.
    static let minimumQueueInterval: Duration = .milliseconds(25)

    private func queueAll(_ subscriptions: [SagaWebhookSubscription]) async throws -> Bool {
        var more = false
        for subscription in subscriptions where subscription.state != .disabled {
            more = try await queue(subscription) || more
        }
        return more
    }

    /// Queues the next part of the feed for `subscription`; returns whether there may be more.
    private func queue(_ subscription: SagaWebhookSubscription) async throws -> Bool {
        let limit = 500
        let feed = try await store.webhookFeed(after: subscription.position, limit: limit)
        guard feed.end > subscription.position else { return false }
        let now = Date()
        let deliveries = feed.entries.flatMap { SagaWebhookEvent.deliveries(for: subscription, entry: $0, now: now) }
        let moved = try await store.enqueueWebhookDeliveries(
            deliveries,
            subscriptionID: subscription.id,
            from: subscription.position,
            to: feed.end,
            now: now
        )
        return moved
    }

    /// Sends one delivery and records the outcome.
    func deliver(_ delivery: SagaWebhookDelivery, to subscription: SagaWebhookSubscription, client: SagaWebhookClients) async {
        var logger = logger
        logger[metadataKey: "webhook.subscription"] = "\(subscription.id)"
        logger[metadataKey: "webhook.id"] = "\(delivery.id)"
        logger[metadataKey: "saga.id"] = "\(delivery.sagaID)"
        let attempt = delivery.attempts + 1
        let result = await send(delivery, to: subscription, client: client)
        let outcome: SagaWebhookDelivery.Outcome
        var disable = false
        switch result {
        case .answered(let status, _) where (200..<300).contains(status):
            outcome = .delivered(status: status, at: Date())
        case .answered(410, _):
            outcome = .failed(status: 410, error: "410 Gone: the subscription is disabled")
            disable = true
        case .answered(let status, let retryAfter):
            outcome = retry(attempt: attempt, status: status, error: "HTTP \(status)", retryAfter: retryAfter)
        case .failed(let error, let retryable):
            outcome = retryable
                ? retry(attempt: attempt, status: nil, error: error, retryAfter: nil)
                : .failed(status: nil, error: error)
        }
        do {
            // A 410 disables the subscription before the delivery is finished: until then the saga's next event
            // waits behind this one (in order per saga), so no claim, here or on another worker, can send it to
            // the receiver that said it is gone.
            if disable {
                disabledNow.withLock { _ = $0.insert(subscription.id) }
                try await store.setWebhookSubscriptionState(id: subscription.id, state: .disabled, reason: "410 Gone")
            }
            // The outcome is recorded even when shutdown cancels the pass: the request was sent.
            let updated = try await store.finishWebhookDelivery(
                id: delivery.id,
                owner: configuration.owner,
                outcome: outcome
            )
            switch outcome {
            case .delivered(let status, _):
                logger.debug("webhook delivered", metadata: ["http.status": "\(status)", "webhook.attempt": "\(attempt)"])
            case .retry(_, let error, let next):
                logger.info("webhook attempt \(attempt) failed (\(error)); next at \(SagaTime.format(next))")
            case .failed(_, let error):
                logger.warning("webhook delivery failed for good after \(attempt) attempts: \(error)")
            }
            if disable {
                logger.warning("webhook subscription disabled: the receiver answered 410 Gone")
            } else if let updated, updated.state == .active, let since = updated.failingSince,
                Date().timeIntervalSince(since) >= Self.seconds(configuration.pauseAfter)
            {
                try await store.setWebhookSubscriptionState(
                    id: subscription.id,
                    state: .paused,
                    reason: "failing since \(SagaTime.format(since))"
                )
                logger.warning("webhook subscription paused: failing since \(SagaTime.format(since))")
            }
        } catch {
            logger.error("could not record a webhook attempt: \(error)")
        }
    }

    private func retry(attempt: Int, status: Int?, error: String, retryAfter: Duration?) -> SagaWebhookDelivery.Outcome {
        guard let scheduled = configuration.schedule.delay(afterAttempt: attempt) else {
            return .failed(status: status, error: "\(error) (attempt \(attempt) of \(configuration.schedule.attempts))")
        }
        var delay = scheduled
        if let retryAfter { delay = min(retryAfter, configuration.maxRetryAfter) }
        return .retry(status: status, error: error, next: Date().addingTimeInterval(Self.seconds(delay)))
    }

    enum SendResult {
        case answered(status: Int, retryAfter: Duration?)
        case failed(String, retryable: Bool)
    }

    private func send(
        _ delivery: SagaWebhookDelivery,
        to subscription: SagaWebhookSubscription,
        client: SagaWebhookClients
    ) async -> SendResult {
        guard let url = URL(string: subscription.url), let host = url.host else {
            return .failed("the subscription's address is not a URL", retryable: false)
        }
        let addresses: [HTTPAddress]
        do {
            addresses = try await HTTPAddressGuard.check(
                host: host,
                allowedHosts: configuration.allowedHosts,
                allowMetadataAddresses: configuration.allowMetadataAddresses,
                resolver: resolver
            )
        } catch let refusal as HTTPAddressGuard.Refusal {
            return .failed(refusal.description, retryable: refusal.isRetryable)
        } catch {
            return .failed("\(error)", retryable: true)
        }
        let timestamp = Int64(Date().timeIntervalSince1970)
        let signature: String
        do {
            signature = try SagaWebhookSigner.signature(
                id: delivery.id,
                timestamp: timestamp,
                body: delivery.body,
                secrets: subscription.secrets
            )
        } catch {
            return .failed("the subscription's secret is not valid", retryable: false)
        }
        // The connection goes to the address that was checked (no second lookup that could answer otherwise).
        guard let address = addresses.first, let route = client.route(url: url, address: address) else {
            return .failed("the subscription's address is not a URL", retryable: false)
        }
        var request = HTTPClientRequest(url: route.url)
        request.method = .POST
        if let host = route.host { request.headers.replaceOrAdd(name: "Host", value: host) }
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "sagas-webhooks")
        request.headers.add(name: "webhook-id", value: delivery.id)
        request.headers.add(name: "webhook-timestamp", value: String(timestamp))
        request.headers.add(name: "webhook-signature", value: signature)
        request.body = .bytes(ByteBuffer(string: delivery.body))
        do {
            let response = try await route.client.execute(request, timeout: .nanoseconds(Self.nanoseconds(configuration.timeout)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let retryAfter = response.headers.first(name: "retry-after").flatMap(Self.parseRetryAfter)
            return .answered(status: Int(response.status.code), retryAfter: retryAfter)
        } catch {
            return .failed(Self.describe(error), retryable: true)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? HTTPClientError {
            if e == .deadlineExceeded || e == .readTimeout || e == .connectTimeout { return "timed out" }
            return "\(e)"
        }
        return "\(error)"
    }

    /// `Retry-After` as seconds or an HTTP date.
    static func parseRetryAfter(_ value: String) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSinceNow * 1000)))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        let ns: Double = seconds(d) * 1e9
        return Int64(ns)
    }
}

/// Wakes the delivery service after each commit of a lifecycle event (the ones webhooks publish).
private struct WakeObserver: SagaObserver {
    let continuation: AsyncStream<Void>.Continuation
    let doorbell: SagaWebhookDoorbell

    func observe(_ notice: SagaNotice) {
        guard notice.events.contains(where: { !SagaWebhookEventType.derived(from: $0.type).isEmpty }) else { return }
        doorbell.ring()
        continuation.yield()
    }
}
