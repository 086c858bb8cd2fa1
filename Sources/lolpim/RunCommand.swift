import ArgumentParser
import Cluster
import Foundation
import Pipeline
import Studies
import Workload

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a topology: a coordinator and one worker per module, on this machine or across hosts (--hosts).")

    @Argument(help: "Topology file (YAML).")
    var topology: String = "Topologies/default.yaml"

    @Option(
        help: ArgumentHelp(
            "How the processes talk: ipc (separate processes, Unix sockets), tcp (separate processes, TCP; "
                + "loopback unless --hosts) or inproc (threads of one process). Default: ipc, tcp with --hosts.")
    )
    var transport: TransportKind?

    @Option(help: "TCP port of the coordinator's control socket with --transport tcp (0: any free port).")
    var port: Int = 0

    @Option(
        help: "Hosts file: start the workers on these hosts through the remote shell (see README, \"Across machines\")."
    )
    var hosts: String?

    @Option(
        help: ArgumentHelp(
            "With --hosts: the address of this machine that the workers reach the coordinator at (default: the "
                + "hosts file's `coordinator` line).")
    )
    var coordinatorAddress: String?

    @Option(help: "With --hosts: the remote shell, as words; the host and the worker command are appended.")
    var remoteShell: String = RemoteWorkers.defaultShell

    @Option(help: "With --hosts: path of the lolpim executable on the remote hosts (default: this executable's path).")
    var remoteBinary: String?

    @Flag(help: "Run every valid (tp, pp) split of the cluster (a resumable sweep) and report the best by throughput.")
    var searchParallelism = false

    @OptionGroup var host: HostOptions
    @OptionGroup var common: CommonOptions
    @OptionGroup var functional: FunctionalOptions

    func validate() throws {
        try require(port, in: 0...65_535, "--port")
        if let coordinatorAddress, let problem = NetworkAddress.hostProblem(coordinatorAddress) {
            throw ValidationError("--coordinator-address: \(problem)")
        }
    }

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        if searchParallelism { return try search() }
        let kind = transport ?? (hosts == nil ? .ipc : .tcp)
        let run = try functional.apply(loadTopology(self.topology))
        let (topology, plan) = (run.topology, run.plan)
        var launcher = Launcher(
            topologyFile: self.topology, transport: kind, outputDirectory: host.outputDirectory(topology))
        launcher.port = port
        launcher.progress = !host.quiet
        launcher.registrationTimeoutMs = common.registrationTimeout * 1000
        launcher.heartbeatTimeoutMs = host.heartbeatTimeout * 1000
        launcher.traceFile = host.trace
        launcher.traceChannelGroups = host.traceChannels
        launcher.keys = try common.loadKeys()
        launcher.logLevel = common.logLevel
        launcher.kernelStore = common.kernelCache.choice
        launcher.functional = functional.launcherSettings(run)
        if let hosts {
            // With a network, node i's workers go to the i-th host (HostsFile: the rule).
            let nodes = plan.topology.network.map { n in
                (0..<plan.workers).map { n.stageNodes[plan.position(rank: $0).stage] }
            }
            launcher.remote = try remoteWorkers(hosts, workers: plan.workers, nodeOfRank: nodes)
        }
        let (results, path) = try reportingFailures { try launcher.run(plan: plan) }
        print(SummaryTable.render(results, resultsPath: path))
    }

    /// `--search-parallelism`: every valid split as a full run, then the table and the best split.
    func search() throws {
        guard hosts == nil, host.trace == nil else {
            throw ValidationError("--search-parallelism runs on this machine, without --hosts or --trace")
        }
        let (topology, _) = try loadTopology(self.topology)
        let directory = host.outputDirectory(topology)
        var search = ParallelismSearch(
            topologyFile: self.topology, topology: topology,
            output: directory + "/parallelism-search.csv")
        search.transport = transport ?? .ipc
        search.progress = !host.quiet
        search.registrationTimeoutMs = common.registrationTimeout * 1000
        search.kernelStore = common.kernelCache.choice
        let outcome = try reportingFailures { try search.run() }
        print(ParallelismTable.render(outcome))
        guard outcome.best != nil else {
            printError("no split ran successfully; see \(outcome.csv)")
            throw ExitCode(1)
        }
    }

    /// The hosts file's placement of every worker, or exit status 2 with the located problem.
    func remoteWorkers(_ path: String, workers: Int, nodeOfRank: [Int]?) throws -> RemoteWorkers {
        do {
            let file = try HostsFile.load(path: path)
            guard let address = coordinatorAddress ?? file.coordinator else {
                throw InputFileError(
                    file: path,
                    message: "no `coordinator ADDRESS` line and no --coordinator-address: "
                        + "the workers need an address of this machine to reach the coordinator at")
            }
            return RemoteWorkers(
                placements: try file.assign(workers: workers, nodeOfRank: nodeOfRank), coordinatorAddress: address,
                shell: remoteShell, remoteBinary: remoteBinary ?? Launcher.executablePath())
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
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

struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "List the (tp, pp) splits of a topology's cluster: which can run the model and why the others cannot."
    )

    @Argument(help: "Topology file (YAML).")
    var topology: String

    func run() throws {
        let (topology, _) = try loadTopology(self.topology)
        let candidates = ParallelismPlanner.candidates(for: topology)
        print("\(topology.model.name) on \(topology.cluster.modules) modules: tp × pp splits")
        for c in candidates {
            let mark = c.tp == topology.parallelism.tp ? "  (this topology)" : ""
            print(
                String(format: "  tp %3d × pp %3d  ", c.tp, c.pp) + (c.problem.map { "invalid: \($0)" } ?? "valid")
                    + mark)
        }
    }
}
