import ArgumentParser
import Cluster
import Foundation
import Pipeline

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

    /// Where `lolpim run` says why it stops this coordinator (see `CoordinatorOptions.stopReasonFile`).
    @Option(help: .hidden)
    var stopReasonFile: String?

    @OptionGroup var host: HostOptions
    @OptionGroup var common: CommonOptions
    @OptionGroup var functional: FunctionalOptions

    func validate() throws {
        try requireEndpoint(bind, "--bind", binding: true)
    }

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        common.watchParent()
        try runCoordinator(
            topology: topology, bind: bind, endpointFile: endpointFile,
            transportLabel: transportLabel ?? String(bind.prefix { $0 != ":" }), summary: !noSummary,
            host: host, common: common, functional: functional, stopReasonFile: stopReasonFile)
    }
}

/// Runs the coordinator of `topology` bound to `bind` until the run ends; partial results on failure.
func runCoordinator(
    topology path: String, bind: String, endpointFile: String?, transportLabel: String, summary: Bool,
    host: HostOptions, common: CommonOptions, functional: FunctionalOptions, stopReasonFile: String? = nil
) throws {
    let run = try functional.apply(loadTopology(path))
    let (topology, plan) = (run.topology, run.plan)
    try reportingFailures {
        try ResourceCheck(workers: plan.workers, tp: topology.parallelism.tp, inProcess: false)
            .enforce(localWorkers: false)
    }
    var options = CoordinatorOptions(
        controlBind: bind, topologyFile: path, outputDirectory: host.outputDirectory(topology),
        endpointFile: endpointFile, transportLabel: transportLabel)
    options.registrationTimeoutMs = common.registrationTimeout * 1000
    options.heartbeatTimeoutMs = host.heartbeatTimeout * 1000
    options.progress = !host.quiet
    options.traceFile = host.trace
    options.traceChannelGroups = host.traceChannels
    options.keys = try common.loadKeys()
    options.kernelStore = common.kernelCache.choice
    options.stopReasonFile = stopReasonFile
    functional.launcherSettings(run)?.configure(&options)
    let coordinator = try reportingFailures { try Coordinator(plan: plan, options: options) }
    let results: RunResults
    do {
        results = try reportingFailures { try coordinator.run() }
    } catch {
        if let path = coordinator.resultsPath { printError("partial results (incomplete) written to \(path)") }
        throw error
    }
    if summary { print(SummaryTable.render(results, resultsPath: coordinator.resultsPath)) }
}

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one PIM module (a worker); it registers with the coordinator and simulates its stage.")

    @Option(help: "The coordinator's control endpoint.")
    var coordinator: String

    @Option(help: "This worker's rank, 0-based: pipeline stage × tp + member (the stage without tensor parallelism).")
    var rank: Int

    @Option(
        help: ArgumentHelp(
            "Data endpoint to bind (default: derived from the coordinator's endpoint; for tcp, the local address "
                + "that reaches the coordinator).")
    )
    var dataBind: String?

    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(rank, in: 0...(TopologyLimits.modules.range.upperBound - 1), "--rank")
        try requireEndpoint(coordinator, "--coordinator", binding: false)
        if let dataBind { try requireEndpoint(dataBind, "--data-bind", binding: true) }
    }

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        common.watchParent()
        try runWorker(coordinator: coordinator, rank: rank, dataBind: dataBind, common: common)
    }
}

func runWorker(coordinator: String, rank: Int, dataBind: String?, common: CommonOptions) throws {
    let options = WorkerOptions(
        coordinator: coordinator, rank: rank, dataBind: dataBind,
        registrationTimeoutMs: common.registrationTimeout * 1000, keys: try common.loadKeys(),
        kernelStore: common.kernelCache.choice)
    try reportingFailures { try Worker(options: options).run() }
}

struct RankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rank",
        abstract:
            "Run as one process of a parallel job (srun, mpirun): rank 0 is the coordinator, rank r the worker "
            + "of stage r − 1.",
        discussion: """
            The rank comes from SLURM_PROCID, PMI_RANK, OMPI_COMM_WORLD_RANK or PMIX_RANK (or --rank-variable), \
            and the job must have one process per module plus one. Every process is given the same coordinator \
            address: rank 0 binds it, the others connect to it. See README, "Across machines".
            """)

    @Argument(help: "Topology file (YAML), the same on every host.")
    var topology: String

    @Option(help: "HOST:PORT of the coordinator (rank 0's machine), or set LOLPIM_COORDINATOR.")
    var coordinator: String?

    @Option(
        help: ArgumentHelp(
            "Rank 0 binds this address instead of the coordinator's host (e.g. when that name resolves to "
                + "127.0.1.1 on its own machine).")
    )
    var bindAddress: String?

    @Option(help: "The environment variable that holds the rank.")
    var rankVariable: String?

    @OptionGroup var host: HostOptions
    @OptionGroup var common: CommonOptions
    @OptionGroup var functional: FunctionalOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        common.watchParent()
        let environment = ProcessInfo.processInfo.environment
        guard let address = coordinator ?? environment["LOLPIM_COORDINATOR"] else {
            throw ValidationError("give the coordinator's HOST:PORT with --coordinator or LOLPIM_COORDINATOR")
        }
        let source = coordinator != nil ? "--coordinator" : "LOLPIM_COORDINATOR"
        guard let (hostName, port) = NetworkAddress.tcpParts("tcp://" + address) else {
            throw ValidationError("\(source) must be HOST:PORT, got '\(SafeText.clip(address, limit: 100))'")
        }
        if let problem = NetworkAddress.hostProblem(hostName) ?? NetworkAddress.portProblem(port, binding: false) {
            throw ValidationError("\(source) must be HOST:PORT: \(problem)")
        }
        if let bindAddress, let problem = NetworkAddress.hostProblem(bindAddress) {
            throw ValidationError("--bind-address: \(problem)")
        }
        let me = try reportingFailures { try RankEnvironment.detect(environment, variable: rankVariable) }
        let (_, plan) = try loadTopology(topology)
        try reportingFailures { try me.check(workers: plan.workers) }
        if me.rank == 0 {
            try runCoordinator(
                topology: topology, bind: "tcp://\(bindAddress ?? hostName):\(port)", endpointFile: nil,
                transportLabel: "tcp", summary: true, host: host, common: common, functional: functional)
        } else {
            try runWorker(coordinator: "tcp://\(address)", rank: me.rank - 1, dataBind: nil, common: common)
        }
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Make a cluster's CURVE key pair and authorised-keys file, for --keys.",
        discussion: """
            Writes DIR/cluster.key (the key pair, mode 0600: keep it secret) and DIR/authorized_keys (the public \
            keys allowed to connect). Copy DIR to every host of the cluster (or share it) and pass --keys DIR to \
            lolpim run, coordinator, worker or rank.
            """)

    @Argument(help: "Directory to write the keys to.")
    var directory: String

    @Flag(help: "Replace keys already in the directory.")
    var force = false

    func run() throws {
        do {
            let keys = try ClusterKeys.create(in: directory, force: force)
            print("wrote \(directory)/\(ClusterKeys.pairFile) (secret) and \(directory)/\(ClusterKeys.authorizedFile)")
            print("public key: \(keys.pair.publicKey)")
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }
}

/// Refuses an endpoint that cannot be bound (`binding`) or connected to, naming the option (exit status 64).
func requireEndpoint(_ endpoint: String, _ option: String, binding: Bool) throws {
    if let problem = NetworkAddress.endpointProblem(endpoint, binding: binding) {
        throw ValidationError("\(option): \(problem)")
    }
}
