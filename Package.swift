// swift-tools-version:6.1
import PackageDescription

// The same settings for every target (as Hummingbird and swift-jobs do).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Sagas",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sagas", targets: ["Sagas"]),
        .library(name: "SagasSQLite", targets: ["SagasSQLite"]),
        .library(name: "SagasTesting", targets: ["SagasTesting"]),
        .library(name: "SagasHTTP", targets: ["SagasHTTP"]),
        .library(name: "SagasCommand", targets: ["SagasCommand"]),
        .library(name: "SagasBenchmark", targets: ["SagasBenchmark"]),
        .library(name: "SagasMetrics", targets: ["SagasMetrics"]),
        .library(name: "SagasTracing", targets: ["SagasTracing"]),
        .library(name: "SagasPostgres", targets: ["SagasPostgres"]),
        .library(name: "SagasServer", targets: ["SagasServer"]),
        .library(name: "SagasWebhooks", targets: ["SagasWebhooks"]),
        .executable(name: "saga", targets: ["SagaCLI"]),
        .executable(name: "saga-example-shop", targets: ["SagaExampleShop"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.3.0"),
        // Only the OTLP/HTTP exporter: the gRPC one costs minutes of build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
    ],
    targets: [
        .target(
            name: "Sagas",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SagasSQLite",
            dependencies: [
                "Sagas",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The SQLite C API GRDB links: the journal's hot statements bind and step through it directly.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                // SHA-256 of pinned definitions (already built for async-http-client, so it costs no build time).
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The PostgreSQL store: the only target that knows postgres-nio (several engine nodes on one database).
        .target(
            name: "SagasPostgres",
            dependencies: [
                "Sagas",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SagasTesting",
            dependencies: ["Sagas"],
            swiftSettings: swiftSettings
        ),
        // The `command` executor: the only target that spawns processes (opt-in: the CLI registers it).
        .target(
            name: "SagasCommand",
            dependencies: ["Sagas", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        // The benchmark harness behind `saga bench`: workloads, percentiles, rusage.
        .target(
            name: "SagasBenchmark",
            dependencies: ["Sagas", "SagasTesting"],
            swiftSettings: swiftSettings
        ),
        // Metrics through swift-metrics: an engine observer (counters, timers) and a sampler (gauges).
        .target(
            name: "SagasMetrics",
            dependencies: [
                "Sagas",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Spans for saga runs and attempts through swift-distributed-tracing (an engine tracer).
        .target(
            name: "SagasTracing",
            dependencies: [
                "Sagas",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTP executor: the only target that knows NIO and AsyncHTTPClient (the core stays free of them).
        .target(
            name: "SagasHTTP",
            dependencies: [
                "Sagas",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // `saga serve`: the HTTP API and dashboard on Hummingbird; it gets a `SagaEngine` injected, so it knows no store.
        .target(
            name: "SagasServer",
            dependencies: [
                "Sagas",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Lifecycle events delivered as signed webhooks, read from the journal (the outbox): issue 19.
        .target(
            name: "SagasWebhooks",
            dependencies: [
                "Sagas",
                "SagasHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // The example shop's server (on Hummingbird), a library so that tests can run it in-process.
        .target(
            name: "SagaExampleShopKit",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SagaExampleShop",
            dependencies: ["SagaExampleShopKit"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SagaCLI",
            dependencies: [
                "Sagas",
                "SagasBenchmark",
                "SagasCommand",
                "SagasHTTP",
                "SagasMetrics",
                "SagasPostgres",
                "SagasSQLite",
                "SagasTracing",
                "SagasServer",
                "SagasWebhooks",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasTests",
            dependencies: [
                "Sagas",
                "SagasCommand",
                // The shipped workflows and the validation tests use the `http` kind's rules (HTTPActionKind).
                "SagasHTTP",
                "SagasTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasMetricsTests",
            dependencies: [
                "Sagas",
                "SagasMetrics",
                "SagasTesting",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasTracingTests",
            dependencies: [
                "Sagas",
                "SagasTracing",
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasBenchmarkTests",
            dependencies: ["Sagas", "SagasBenchmark", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasSQLiteTests",
            dependencies: [
                "Sagas",
                "SagasSQLite",
                "SagasTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasHTTPTests",
            dependencies: [
                "Sagas",
                "SagasCommand",
                "SagasHTTP",
                "SagaExampleShopKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasPostgresTests",
            dependencies: [
                "Sagas",
                "SagasPostgres",
                "SagasTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasServerTests",
            dependencies: [
                "Sagas",
                "SagasServer",
                "SagasTesting",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagaCLITests",
            dependencies: [
                "Sagas",
                // The kinds of the workflows the tests load in-process (SagaActionKinds.standard).
                "SagasCommand",
                "SagasHTTP",
                "SagasSQLite",
                "SagasTesting",
                "SagasWebhooks",
                // Webhooks on PostgreSQL (PostgresWebhookTests): the store in-process beside the binary.
                "SagasPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                // A loopback OTLP/HTTP receiver for the tracing tests.
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                // The webhook receiver of WebhookCLITests: a loopback NIO server that checks signatures itself.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
