import ArgumentParser
import Cluster
import Foundation
import Pipeline
import Studies

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run every point of a sweep file as a full run, appending one CSV row per point (resumable).")

    @Argument(help: "Sweep file (YAML): base topology, axes or points, output CSV, transport.")
    var file: String

    @Flag(help: "No progress bar.")
    var quiet = false

    @Option(help: "Seconds without a heartbeat after which a point's peer counts as dead.")
    var heartbeatTimeout: Int = 10

    @Option(help: "Points run at once (results are the same; rows are written in point order).")
    var jobs: Int = 1

    @OptionGroup var common: CommonOptions

    func validate() throws {
        try require(heartbeatTimeout, in: 1...3600, "--heartbeat-timeout", unit: "s")
        try require(jobs, in: 1...64, "--jobs")
    }

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
        runner.heartbeatTimeoutMs = heartbeatTimeout * 1000
        runner.kernelStore = common.kernelCache.choice
        runner.jobs = jobs
        let summary = try reportingFailures { try runner.run() }
        print(
            "sweep \(file): \(summary.total) points, \(summary.skipped) already done, \(summary.ran) run "
                + "(\(summary.failed) failed); results in \(spec.output)")
        let recorded = try reportingFailures { try SweepCSV.rows(path: spec.output) }
        if !recorded.isEmpty, !recorded.contains(where: { $0["status"] == "ok" }) {
            printError("every point of the sweep failed; the errors are in the CSV's error column (\(spec.output))")
            throw ExitCode(1)
        }
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
        let directory =
            output
            ?? ((input as NSString).deletingLastPathComponent.isEmpty
                ? "." : (input as NSString).deletingLastPathComponent) + "/report"
        do {
            let files = try Report.generate(input: input, directory: directory)
            print("report: \(files.count) files in \(directory) (open \(directory)/index.html)")
        } catch {
            // Located errors name the input themselves; others (a directory that cannot be written) get its name.
            let text = "\(error)"
            printError(text.hasPrefix(input) || text.hasPrefix(directory) ? text : "\(input): \(text)")
            throw ExitCode(2)
        }
    }
}

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract:
            "Compare the topology's model and workload on GPUs, GPU-PIM and both PIM ladders (LoL-PIM's ideas "
            + "added one by one).",
        discussion: """
            The topology gives the model, the requests and the PIM system size; every other system is \
            memory-matched to it. PIM rows run at command fidelity and search their own tp × pp split, micro-batch \
            count and (xPU+PIM) sub-batches, each configuration a full run (resumable sweeps). GPU rows use the \
            Baselines models on the same requests. See docs/COMPARE.md.
            """)

    @Argument(help: "Topology file (YAML): model, workload and PIM system size.")
    var topology: String

    @Option(help: "GPUs of the GPU rows and of GPU-PIM (default: memory-matched; see docs/COMPARE.md).")
    var gpus: Int?

    @Option(help: "HBM-PIM devices of the GPU-PIM row (default: the fewest that bring it to the PIM system's memory).")
    var pimDevices: Int?

    @Option(help: "Directory for comparison.csv, the charts and the runs (default: results/<topology name>/compare).")
    var output: String?

    @Option(help: "Largest tensor-parallel degree the PIM rows try.")
    var maxTp: Int = 8

    @Option(help: "How the PIM rows search: staged (one knob at a time) or exhaustive (every combination).")
    var search: SearchMode = .staged

    @Option(
        help: ArgumentHelp(
            "Rank each search stage's configurations on this many decode steps, then run only the best in full "
                + "(default: 4 on the paper's set-ups, Topologies/compare/<model>-<dataset>.yaml as shipped; "
                + "every configuration in full elsewhere)."))
    var rankSteps: Int?

    @Flag(help: "Run every configuration in full, also on the paper's set-ups.")
    var fullSearch = false

    @Option(help: "With --rank-steps: the fastest configurations of each row confirmed in full.")
    var confirm: Int = 1

    @Option(help: "With --rank-steps: also confirm every configuration within this fraction of the fastest ranked.")
    var tolerance: Double = 0.05

    @Option(help: "NPU bandwidth of the xPU+PIM rows, GB/s (default: derived from NeuPIMs' HBM2 channels, 1,024 GB/s).")
    var npuBandwidthGbps: Double?

    @Option(help: "How each PIM run's processes talk: inproc (default: the fastest, results identical), ipc or tcp.")
    var transport: TransportKind = .inproc

    @Option(help: "Seconds without a heartbeat before a run's peer counts as dead (workers send none mid-kernel).")
    var heartbeatTimeout: Int = 120

    func validate() throws {
        try require(heartbeatTimeout, in: 1...3600, "--heartbeat-timeout", unit: "s")
        try require(jobs, in: 1...64, "--jobs")
        if let gpus { try require(gpus, in: 1...4096, "--gpus") }
        if let pimDevices { try require(pimDevices, in: 0...4096, "--pim-devices") }
        try require(maxTp, in: 1...4096, "--max-tp")
        if let rankSteps { try require(rankSteps, in: 1...1_000_000, "--rank-steps") }
        try require(confirm, in: 1...64, "--confirm")
        try require(tolerance, in: 0...1, "--tolerance")
        if let npuBandwidthGbps { try require(npuBandwidthGbps, in: 1e-3...1e7, "--npu-bandwidth-gbps", unit: "GB/s") }
    }

    @Flag(help: "No progress bar.")
    var quiet = false

    @Option(help: "Runs at once (results are the same).")
    var jobs: Int = 2

    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        if let gpus, gpus < 1 { throw ValidationError("--gpus must be at least 1") }
        if let pimDevices, pimDevices < 1 { throw ValidationError("--pim-devices must be at least 1") }
        let (topology, _) = try loadTopology(self.topology)
        let directory = output ?? "results/\(topology.name)/compare"
        try reportingFailures { try OutputDirectory.prepareDirectory(directory, what: "output directory") }
        var comparison = try reportingFailures {
            try Comparison(topologyFile: self.topology, topology: topology, outputDirectory: directory)
        }
        comparison.gpus = gpus
        comparison.pimDevices = pimDevices
        comparison.search = search
        comparison.ranking = rankSteps.map { Comparison.Ranking(steps: $0, confirmed: confirm, tolerance: tolerance) }
        if rankSteps == nil, !fullSearch, PaperStudy.isLadderSetUp(topology) {
            // Shown to choose as the full search on these set-ups (docs/COMPARE.md §2, "Ranked search").
            comparison.ranking = .paper
            if !quiet {
                let note = "compare: one of the paper's set-ups, ranked search (--full-search runs every configuration)"
                FileHandle.standardError.write(Data((note + "\n").utf8))
            }
        }
        comparison.runs = common.runOptions(
            transport: transport, quiet: quiet, heartbeatTimeout: heartbeatTimeout, jobs: jobs)
        comparison.maxTP = max(1, maxTp)
        comparison.npuBandwidthGbps = npuBandwidthGbps
        let rows = try reportingFailures { try comparison.run() }
        let files = try reportingFailures {
            try ComparisonReport.write(
                rows, title: "\(topology.model.name), \(topology.workload.context.label)",
                to: directory)
        }
        print(ComparisonReport.table(rows))
        print("written: " + files.joined(separator: ", "))
    }
}

struct PaperCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "paper",
        abstract: "Regenerate the LoL-PIM paper's evaluation as lolpim's own figures (results/paper/index.html).",
        discussion: """
            Runs both ladders on the four models × their datasets, TP vs PP, scalability over memory and context, \
            DCS vs ping-pong and KV utilisation, each as resumable comparisons, and writes one HTML page with SVGs \
            and CSVs beside it, marking the paper's published values. Run it from the repository root (it reads \
            Topologies/compare). See docs/VALIDATION.md.
            """)

    @Option(help: "Directory for the page, its figures and the runs.")
    var output = "results/paper"

    @Option(help: "Directory of the comparison topologies the study derives its set-ups from.")
    var topologies = "Topologies/compare"

    @Flag(help: "Shrink every workload (a smoke run; the figures are not the evaluation's).")
    var quick = false

    @Option(help: "Largest tensor-parallel degree the PIM rows try.")
    var maxTp: Int = 8

    @Option(help: "How each run's processes talk: inproc (default: the fastest, results identical), ipc or tcp.")
    var transport: TransportKind = .inproc

    @Option(help: "Seconds without a heartbeat before a run's peer counts as dead (workers send none mid-kernel).")
    var heartbeatTimeout: Int = 120

    @Flag(help: "Run every configuration of every search in full, instead of ranking them on 4 decode steps.")
    var fullSearch = false

    func validate() throws {
        try require(heartbeatTimeout, in: 1...3600, "--heartbeat-timeout", unit: "s")
        try require(jobs, in: 1...64, "--jobs")
        try require(maxTp, in: 1...4096, "--max-tp")
    }

    @Flag(help: "No progress output.")
    var quiet = false

    @Option(help: "Runs at once (results are the same).")
    var jobs: Int = 2

    @OptionGroup var common: CommonOptions

    func run() throws {
        common.bootstrapLogging()
        StopSignal.install()
        // A path that cannot hold the page (an existing file, no permission) is refused before any run.
        try reportingFailures { try OutputDirectory.prepareDirectory(output, what: "output directory") }
        var study = PaperStudy()
        study.outputDirectory = output
        study.topologyDirectory = topologies
        study.quick = quick
        study.maxTP = max(1, maxTp)
        study.ranking = fullSearch ? nil : .paper
        study.runs = common.runOptions(
            transport: transport, quiet: quiet, heartbeatTimeout: heartbeatTimeout, jobs: jobs)
        let outcome = try reportingFailures { try study.run() }
        let page = try reportingFailures { try PaperPage.write(outcome, to: output) }
        print(String(format: "lolpim paper: %.0f s; written: %@", outcome.seconds, page))
    }
}
