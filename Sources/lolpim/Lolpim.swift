import ArgumentParser
import Cluster
import Foundation
import Logging

@main
struct Lolpim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lolpim",
        abstract: "A distributed multi-process simulator of LoL-PIM: long-context LLM decoding on multi-node DRAM-PIM.",
        discussion: "Start with: lolpim run Topologies/default.yaml",
        version: LolpimVersion.string,
        subcommands: [Run.self, Validate.self, SweepCommand.self, ReportCommand.self, KernelCommand.self,
                      CoordinatorCommand.self, WorkerCommand.self]
    )
}

/// Options every process-starting command shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Seconds to wait for every worker to register (and for a worker to get its configuration).")
    var registrationTimeout: Int = 60

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "warning"

    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Options of the commands that run the host side (run, coordinator).
struct HostOptions: ParsableArguments {
    @Option(help: "Directory for results.json (default: results/<topology name>).")
    var output: String?

    @Flag(help: "No progress line.")
    var quiet = false

    @Option(help: "Seconds without a heartbeat after which a peer counts as dead (workers take the coordinator's value).")
    var heartbeatTimeout: Int = 10

    @Option(help: "Write a Chrome-trace / Perfetto JSON timeline of the run to this file (open it in ui.perfetto.dev).")
    var trace: String?

    @Option(help: ArgumentHelp("With --trace: also draw each module's channels in this many groups, one track per group (0: none).",
                               valueName: "groups"))
    var traceChannels: Int = 0

    func validate() throws {
        guard traceChannels >= 0 else { throw ValidationError("--trace-channels must be 0 or more, got \(traceChannels)") }
        guard traceChannels == 0 || trace != nil else { throw ValidationError("--trace-channels needs --trace FILE") }
    }

    func outputDirectory(_ topology: Topology) -> String { output ?? "results/\(topology.name)" }
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

func printError(_ text: String) {
    FileHandle.standardError.write(Data("lolpim: error: \(text)\n".utf8))
}

/// Runs `body`, turning runtime failures into a message and a non-zero exit status.
func reportingFailures<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as RuntimeError {
        printError(error.description)
        throw ExitCode(error.exitCode)
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a topology: a coordinator and one worker per module on this machine.")

    @Argument(help: "Topology file (YAML).")
    var topology: String = "Topologies/default.yaml"

    @Option(help: "How the processes talk: ipc (separate processes, Unix sockets), tcp (separate processes, loopback TCP) or inproc (threads of one process).")
    var transport: String = "ipc"

    @Option(help: "TCP port of the coordinator's control socket with --transport tcp (0: any free port).")
    var port: Int = 0

    @OptionGroup var host: HostOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        guard let kind = TransportKind(rawValue: transport) else {
            throw ValidationError("--transport must be one of: ipc, tcp, inproc")
        }
        let (topology, plan) = try loadTopology(self.topology)
        var launcher = LocalLauncher(topologyFile: self.topology, transport: kind,
                                     outputDirectory: host.outputDirectory(topology))
        launcher.port = port
        launcher.progress = !host.quiet
        launcher.registrationTimeoutMs = common.registrationTimeout * 1000
        launcher.heartbeatTimeoutMs = host.heartbeatTimeout * 1000
        launcher.traceFile = host.trace
        launcher.traceChannelGroups = host.traceChannels
        let (results, path) = try reportingFailures { try launcher.run(plan: plan) }
        print(SummaryTable.render(results, resultsPath: path))
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check topology files and print what they describe.")

    @Argument(help: "Topology files (YAML).")
    var files: [String]

    func run() throws {
        var failed = false
        for file in files {
            do {
                let topology = try TopologyLoader.load(path: file)
                print(TopologyDescription.render(topology, plan: try PipelinePlan(topology: topology), file: file))
            } catch {
                printError("\(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(2) }
    }
}

struct CoordinatorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator (the host) of a topology; workers connect to it.")

    @Argument(help: "Topology file (YAML).")
    var topology: String

    @Option(help: "Control endpoint to bind, e.g. tcp://127.0.0.1:5700 or ipc:///tmp/run/control.sock.")
    var bind: String = "tcp://127.0.0.1:5700"

    @Option(help: "Write the bound control endpoint to this file once listening.")
    var endpointFile: String?

    @Option(help: "Transport label recorded in the wall-clock section.")
    var transportLabel: String?

    @Flag(help: "Do not print the summary table (lolpim run prints it).")
    var noSummary = false

    @OptionGroup var host: HostOptions
    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        let (topology, plan) = try loadTopology(self.topology)
        var options = CoordinatorOptions(
            controlBind: bind, topologyFile: self.topology, outputDirectory: host.outputDirectory(topology),
            endpointFile: endpointFile, transportLabel: transportLabel ?? String(bind.prefix { $0 != ":" }))
        options.registrationTimeoutMs = common.registrationTimeout * 1000
        options.heartbeatTimeoutMs = host.heartbeatTimeout * 1000
        options.progress = !host.quiet
        options.traceFile = host.trace
        options.traceChannelGroups = host.traceChannels
        let coordinator = try reportingFailures { try Coordinator(plan: plan, options: options) }
        let results: RunResults
        do {
            results = try reportingFailures { try coordinator.run() }
        } catch {
            if let path = coordinator.resultsPath { printError("partial results (incomplete) written to \(path)") }
            throw error
        }
        if !noSummary {
            print(SummaryTable.render(results, resultsPath: coordinator.resultsPath))
        }
    }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one PIM module (a worker); it registers with the coordinator and simulates its stage.")

    @Option(help: "The coordinator's control endpoint.")
    var coordinator: String

    @Option(help: "This worker's rank (its pipeline stage), 0-based.")
    var rank: Int

    @Option(help: "Data endpoint to bind (default: derived from the coordinator's endpoint).")
    var dataBind: String?

    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        guard rank >= 0 else { throw ValidationError("--rank must be 0 or more") }
        try reportingFailures {
            try Worker(options: WorkerOptions(coordinator: coordinator, rank: rank, dataBind: dataBind,
                                              registrationTimeoutMs: common.registrationTimeout * 1000)).run()
        }
    }
}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run every point of a sweep file as a full run, appending one CSV row per point (resumable).")

    @Argument(help: "Sweep file (YAML): base topology, axes or points, output CSV, transport.")
    var file: String

    @Flag(help: "No progress bar.")
    var quiet = false

    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        let spec: SweepSpec
        do {
            spec = try SweepSpec.load(path: file)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        var runner = SweepRunner(spec: spec)
        runner.progress = !quiet
        runner.registrationTimeoutMs = common.registrationTimeout * 1000
        let summary = try reportingFailures { try runner.run() }
        print("sweep \(file): \(summary.total) points, \(summary.skipped) already done, \(summary.ran) run "
              + "(\(summary.failed) failed); results in \(spec.output)")
    }
}

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "SVG charts and an HTML page from a run's results.json or a sweep's CSV.")

    @Argument(help: "results.json of a run, or the CSV of a sweep.")
    var input: String

    @Option(help: "Directory for the charts and index.html (default: <input directory>/report).")
    var output: String?

    func run() throws {
        let directory = output ?? ((input as NSString).deletingLastPathComponent.isEmpty ? "." : (input as NSString).deletingLastPathComponent) + "/report"
        do {
            let files = try Report.generate(input: input, directory: directory)
            print("report: \(files.count) files in \(directory) (open \(directory)/index.html)")
        } catch {
            printError("\(input): \(error)")
            throw ExitCode(2)
        }
    }
}
