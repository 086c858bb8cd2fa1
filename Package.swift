// swift-tools-version:6.0
// lolpim: a distributed multi-process simulator of LoL-PIM (multi-node DRAM-PIM for long-context LLM decoding).
// Layers (an arrow only points down):
//   lolpim -> Studies -> Cluster -> Pipeline -> PIMModule -> Workload
//   Studies -> Baselines -> PIMModule;  Cluster -> Transport -> CZMQ
import PackageDescription

let package = Package(
    name: "lolpim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lolpim", targets: ["lolpim"])
    ],
    dependencies: [
        // CLI subcommands, options and help text.
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Topology files are YAML; Yams gives us the node tree with line/column marks for error messages.
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // Structured logging in the coordinator and workers.
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // The kernel-timing store: SQLite (WAL, many processes at once) through GRDB, the ecosystem's standard.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // Data-message latency percentiles (HdrHistogram).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.1.0"),
        // Sweep, comparison and request-trace CSV (RFC 4180 quoting, streaming reader and writer).
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.0"),
    ],
    targets: [
        // libzmq through pkg-config; Debian/Ubuntu provide it as libzmq3-dev.
        .systemLibrary(
            name: "CZMQ",
            pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"])]
        ),
        // A thin, safe Swift layer over libzmq. Knows sockets and frames, nothing about PIM.
        .target(name: "Transport", dependencies: ["CZMQ"]),
        // Model presets, the decode-step operator graph, request context lengths and traces. Pure.
        .target(name: "Workload", dependencies: [.product(name: "CSV", package: "CSV.swift")]),
        // One PIM module: hardware presets and the per-op cost model. Pure.
        .target(name: "PIMModule", dependencies: ["Workload"]),
        // Analytic models of the systems LoL-PIM is compared with (multi-GPU, GPU-PIM, xPU+PIM). Pure.
        .target(name: "Baselines", dependencies: ["Workload", "PIMModule"]),
        // The simulated-time model of the whole pipeline: the topology as values, stages, the batch scheduler,
        // the host, ports, tensor-parallel groups, the single-thread reference run and the simulated results.
        // Pure: no processes, sockets or files.
        .target(name: "Pipeline", dependencies: ["Workload", "PIMModule"]),
        // The runtime: coordinator and worker processes, the wire protocol, topology files, the kernel-timing
        // store, results files. The only layer with processes, sockets and time-outs.
        .target(
            name: "Cluster",
            dependencies: [
                "Transport", "Workload", "PIMModule", "Pipeline",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // Studies made of many runs: sweeps, the parallelism search, compare, the paper page, reports and charts.
        .target(
            name: "Studies",
            dependencies: [
                "Cluster", "Pipeline", "Baselines", "Workload", "PIMModule",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "lolpim",
            dependencies: [
                "Studies", "Cluster", "Pipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Benchmarks print figures; they are never part of the test suite.
        .executableTarget(
            name: "lolpim-bench", dependencies: ["CZMQ", "Transport", "Cluster", "Pipeline", "PIMModule", "Workload"]),
        .testTarget(name: "TransportTests", dependencies: ["Transport"]),
        .testTarget(name: "WorkloadTests", dependencies: ["Workload"]),
        .testTarget(name: "PIMModuleTests", dependencies: ["PIMModule", "Workload"]),
        .testTarget(name: "BaselinesTests", dependencies: ["Baselines", "Workload", "PIMModule"]),
        // What the test targets share: topology fixtures, the process harness, SVG checks.
        .target(
            name: "TestSupport", dependencies: ["Studies", "Cluster", "Pipeline", "Transport", "Workload"],
            path: "Tests/Support"),
        .testTarget(
            name: "PipelineTests", dependencies: ["Pipeline", "Cluster", "PIMModule", "Workload", "TestSupport"]),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Cluster", "Pipeline", "Transport", "Workload", "PIMModule", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "StudiesTests",
            dependencies: ["Studies", "Cluster", "Pipeline", "Baselines", "PIMModule", "Workload", "TestSupport"]),
        // Suites that start lolpim processes (the executable built beside the tests).
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "Studies", "Cluster", "Pipeline", "Transport", "Workload", "PIMModule", "TestSupport",
            ]),
    ],
    swiftLanguageModes: [.v6]
)
