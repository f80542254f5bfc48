// swift-tools-version:6.2
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "spp-hookd",
    products: [
        .executable(name: "spp-hookd", targets: ["spp-hookd"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // jq 1.6 (Debian's libjq-dev has no pkg-config file; the headers are in /usr/include).
        .systemLibrary(
            name: "CJQ",
            providers: [.apt(["libjq-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // Outbound HTTP (forward sinks, the SPP API): libcurl built with OpenSSL.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // accept4 and friends that need _GNU_SOURCE.
        .target(name: "CShims"),
        // Pure core: HTTP/1.1 parsing, JSON, envelopes, classification, config, the delivery
        // window over logged events. No I/O.
        .target(name: "SPPHookCore"),
        // POSIX primitives: sockets, files and durable appends, threads that stop, signals,
        // clocks, child processes. What the server and its tools are built on.
        .target(name: "SPPHookPOSIX", dependencies: ["SPPHookCore", "CShims"]),
        // I/O edge: intake, the durable event log, hashing, sinks and their jq programs.
        .target(
            name: "SPPHookServer",
            dependencies: [
                "SPPHookCore", "SPPHookPOSIX", "COpenSSL", "CJQ", "CLibPQ", "CCurl", "CShims",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // systemd integration: notify, watchdog, socket activation, journald.
        .target(
            name: "SPPHookSystemd",
            dependencies: [
                "SPPHookCore", "SPPHookPOSIX", "SPPHookServer", "CSystemd",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "spp-hookd",
            dependencies: [
                "SPPHookCore", "SPPHookPOSIX", "SPPHookServer", "SPPHookSystemd", "CShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.embedInCode("default-config.json")]
        ),
        // Test support shared by both test targets (the llhttp corpus).
        .target(name: "SPPHookTesting", path: "Tests/SPPHookTesting", exclude: ["Fixtures"]),
        // The fuzzer's properties (parser chunking invariance, JSON round trips), shared with the
        // unit test that replays the committed corpus.
        .target(name: "FuzzChecks", dependencies: ["SPPHookCore"], path: "Tests/FuzzChecks"),
        // libFuzzer target: `make fuzz` (-sanitize=fuzzer,address -DFUZZING); else a corpus replayer.
        .executableTarget(
            name: "spp-hookd-fuzz", dependencies: ["FuzzChecks"], path: "Tests/Fuzz", exclude: ["corpus"],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
        .testTarget(name: "SPPHookCoreTests", dependencies: ["SPPHookCore", "SPPHookTesting", "FuzzChecks"]),
        .testTarget(
            name: "SPPHookdTests",
            dependencies: [
                "SPPHookCore", "SPPHookPOSIX", "SPPHookServer", "SPPHookSystemd", "spp-hookd", "SPPHookTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Fixtures"]
        ),
    ]
)

for target in package.targets where target.type != .system && target.name != "CShims" && target.name != "spp-hookd-fuzz" {
    target.swiftSettings = (target.swiftSettings ?? []) + upcoming
}
