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
        .executable(name: "saga", targets: ["SagaCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
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
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SagasTesting",
            dependencies: ["Sagas"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SagaCLI",
            dependencies: [
                "Sagas",
                "SagasSQLite",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
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
                "SagasTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagasSQLiteTests",
            dependencies: [
                "Sagas",
                "SagasSQLite",
                "SagasTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SagaCLITests",
            dependencies: ["Sagas", "SagasSQLite", "SagasTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
