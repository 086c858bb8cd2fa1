import ArgumentParser
import Cluster
import Foundation

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
