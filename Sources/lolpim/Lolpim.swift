import ArgumentParser
import Cluster
import Foundation
import Logging
import PIMModule
import Pipeline
import Studies
import Workload

@main
struct Lolpim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lolpim",
        abstract: "A distributed multi-process simulator of LoL-PIM: long-context LLM decoding on multi-node DRAM-PIM.",
        discussion: "Start with: lolpim run Topologies/default.yaml",
        version: LolpimVersion.string,
        subcommands: [
            Run.self, Validate.self, PlanCommand.self, SweepCommand.self, ReportCommand.self, CompareCommand.self,
            PaperCommand.self, KernelCommand.self, CENTCommand.self, ReferenceCommand.self,
            CoordinatorCommand.self, WorkerCommand.self, RankCommand.self, KeysCommand.self,
            CacheCommand.self,
        ]
    )
}

/// `--transport ipc|tcp|inproc` (and the other closed choices): an unknown value is a usage error that lists
/// the valid ones.
extension TransportKind: ExpressibleByArgument {}
extension SearchMode: ExpressibleByArgument {}
/// `lolpim kernel --scheduling static|pingpong|dcs`.
extension SchedulingPolicy: ExpressibleByArgument {}
/// `lolpim kernel --partitioning tcp|hfp`.
extension AttentionPartitioning: ExpressibleByArgument {}

/// Options every process-starting command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Seconds to wait for every worker to register (and for a worker to get its configuration).")
    var registrationTimeout: Int = 60

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    @Option(
        help: ArgumentHelp(
            "CURVE keys directory (made by `lolpim keys DIR`): encrypt every connection and refuse peers "
                + "without an authorised key.",
            valueName: "dir"))
    var keys: String?

    @OptionGroup var kernelCache: KernelCacheOptions

    @Option(help: .hidden)
    var parentPid: Int32?

    /// A process started by a launcher stops once the launcher is gone (`--parent-pid`, set by the launcher).
    func watchParent() {
        if let parentPid { StopSignal.watchParent(parentPid) }
    }

    func validate() throws {
        try require(registrationTimeout, in: 1...86_400, "--registration-timeout", unit: "s")
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError(
                "--log-level must be one of trace, debug, info, notice, warning, error, critical; "
                    + "got '\(SafeText.clip(logLevel, limit: 40))'")
        }
    }

    /// The cluster's keys when `--keys` is given; a bad keys directory exits with status 2.
    func loadKeys() throws -> ClusterKeys? {
        guard let keys else { return nil }
        do {
            return try ClusterKeys.load(from: keys)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }

    /// How a study's runs are carried out: `transport`, progress unless `quiet`, and these options' time-out
    /// and kernel-timing store.
    func runOptions(transport: TransportKind, quiet: Bool, heartbeatTimeout: Int, jobs: Int = 1) -> RunOptions {
        var runs = RunOptions(transport: transport)
        runs.jobs = max(1, jobs)
        runs.progress = !quiet
        runs.heartbeatTimeoutMs = heartbeatTimeout * 1000
        runs.registrationTimeoutMs = registrationTimeout * 1000
        runs.kernelStore = kernelCache.choice
        return runs
    }

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Where command-level kernel timings are kept between processes and runs (docs/KERNEL-STORE.md).
struct KernelCacheOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Kernel-timing store file (default: $LOLPIM_KERNEL_CACHE, else "
                + "$XDG_CACHE_HOME/lolpim/kernels.sqlite, else ~/.cache/lolpim/kernels.sqlite).",
            valueName: "path"))
    var kernelCache: String?

    @Flag(help: "No kernel-timing store: simulate every kernel afresh (results are the same).")
    var noKernelCache = false

    var choice: KernelStoreChoice { .resolve(path: kernelCache, disabled: noKernelCache) }
}

/// Options of the commands that run the host side (run, coordinator).
struct HostOptions: ParsableArguments {
    @Option(help: "Directory for results.json (default: results/<topology name>).")
    var output: String?

    @Flag(help: "No progress line.")
    var quiet = false

    @Option(
        help: "Seconds without a heartbeat after which a peer counts as dead (workers take the coordinator's value).")
    var heartbeatTimeout: Int = 10

    @Option(help: "Write a Chrome-trace / Perfetto JSON timeline of the run to this file (open it in ui.perfetto.dev).")
    var trace: String?

    @Option(
        help: ArgumentHelp(
            "With --trace: also draw each module's channels in this many groups, one track per group (0: none).",
            valueName: "groups"))
    var traceChannels: Int = 0

    func validate() throws {
        try require(heartbeatTimeout, in: 1...3600, "--heartbeat-timeout", unit: "s")
        try require(traceChannels, in: 0...1024, "--trace-channels")
        guard traceChannels == 0 || trace != nil else { throw ValidationError("--trace-channels needs --trace FILE") }
    }

    func outputDirectory(_ topology: Topology) -> String { output ?? "results/\(topology.name)" }
}

/// Refuses an option value outside `range` (ArgumentParser prints it with the usage and exits 64).
func require<T: Comparable>(_ value: T, in range: ClosedRange<T>, _ option: String, unit: String = "") throws {
    guard range.contains(value) else {
        let suffix = unit.isEmpty ? "" : " \(unit)"
        throw ValidationError(
            "\(option) must be between \(range.lowerBound) and \(range.upperBound)\(suffix), "
                + "got \(value)")
    }
}

/// Loads a topology or exits with status 2 and the located error.
func loadTopology(_ path: String) throws -> (Topology, PipelinePlan) {
    do {
        let topology = try TopologyLoader.load(path: path)
        return (topology, try PipelinePlan(topology: topology))
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
}

/// `lolpim: error: TEXT` on stderr; control characters other than line breaks in TEXT are escaped.
func printError(_ text: String) {
    let safe = text.split(separator: "\n", omittingEmptySubsequences: false).map { SafeText.clip($0, limit: 4000) }
    FileHandle.standardError.write(Data("lolpim: error: \(safe.joined(separator: "\n"))\n".utf8))
}

/// Runs `body`, turning runtime failures into a message and a non-zero exit status.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as RuntimeError {
        // A launched worker that its coordinator stopped adds nothing: the coordinator and the launcher name the
        // cause once.
        if case .stoppedByCoordinator = error, StopSignal.hasLauncher { throw ExitCode(error.exitCode) }
        printError(error.description)
        throw ExitCode(error.exitCode)
    } catch let error as InputFileError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as TopologyError {
        printError(error.description)
        throw ExitCode(2)
    } catch let error as CSVTable.Problem {
        printError(error.description)
        throw ExitCode(2)
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}
