import Cluster
import Foundation
import Pipeline

/// `lolpim sweep`: runs every point of a sweep as a full multi-process run, appending a CSV row as each
/// point finishes. Points already in the CSV are skipped, so a sweep stopped by a crash or Ctrl-C resumes
/// where it stopped; a failing point is recorded with its error and the sweep goes on.
public struct SweepRunner {
    public let spec: SweepSpec
    public var progress = true
    /// Registration time-out of every point's run, milliseconds.
    public var registrationTimeoutMs = 60_000
    /// Heartbeat time-out of every point's run, milliseconds (as `lolpim run --heartbeat-timeout`).
    public var heartbeatTimeoutMs = 10_000
    /// Where each point's topology and results go (default: `<csv name>-points` beside the CSV).
    public var workDirectory: String
    /// The kernel-timing store every point's run uses.
    public var kernelStore: KernelStoreChoice = .off
    /// Names each point's directory under `workDirectory` from its index and key (default `point-INDEX`).
    /// `lolpim compare` names them after the key, so that a point keeps its directory when the list changes.
    public var directoryName: @Sendable (Int, String) -> String = { index, _ in "point-\(index)" }
    /// Shown before the progress bar (for example the stage of a comparison).
    public var progressLabel = ""

    public init(spec: SweepSpec) {
        self.spec = spec
        workDirectory = (spec.output as NSString).deletingPathExtension + "-points"
    }

    public struct Summary {
        public var total: Int
        public var skipped: Int
        public var ran: Int
        public var failed: Int
    }

    public func run() throws -> Summary {
        // The CSV's directory is proven writable and the points' directory locked before the first point runs.
        let parent = (spec.output as NSString).deletingLastPathComponent
        try OutputDirectory.prepareDirectory(parent.isEmpty ? "." : parent, what: "directory of the sweep's CSV")
        let lock = try OutputDirectory.acquire(workDirectory)
        defer { lock.release() }
        let csv = SweepCSV(path: spec.output, fields: spec.fields)
        let done = try csv.recordedPoints()
        let todo = spec.points.enumerated().filter { !done.contains(spec.key($0.element)) }
        var summary = Summary(total: spec.points.count, skipped: spec.points.count - todo.count, ran: 0, failed: 0)
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let bar = SweepProgress(
            enabled: progress, total: spec.points.count, skipped: summary.skipped,
            label: progressLabel)
        for (index, point) in todo {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            let key = spec.key(point)
            let values = point.map(SweepSpec.text)
            let directory = pointDirectory(index: index, key: key)
            var row: [String]
            var throughput: Double?
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let file = directory + "/topology.yaml"
                try spec.topologyText(for: point).write(toFile: file, atomically: true, encoding: .utf8)
                let plan = try PipelinePlan(topology: TopologyLoader.load(path: file))
                var launcher = Launcher(topologyFile: file, transport: spec.transport, outputDirectory: directory)
                launcher.progress = false
                launcher.registrationTimeoutMs = registrationTimeoutMs
                launcher.heartbeatTimeoutMs = heartbeatTimeoutMs
                launcher.kernelStore = kernelStore
                let (results, _) = try launcher.run(plan: plan)
                row = [key] + values + ["ok", ""] + SweepCSV.figures(results)
                throughput = results.simulated.throughputTokensPerS
            } catch let error as RuntimeError where error.exitCode == 130 {
                throw error  // Ctrl-C: the point is not recorded, a re-run does it again
            } catch {
                if StopSignal.isRequested { throw RuntimeError.interrupted }
                row = [key] + values + ["failed", "\(error)"] + Array(repeating: "", count: SweepCSV.figures.count)
                summary.failed += 1
            }
            try csv.append(row)
            summary.ran += 1
            bar.update(done: summary.skipped + summary.ran, throughput: throughput)
        }
        bar.finish()
        return summary
    }
}

extension SweepRunner {
    /// Where the point at `index` (with `key`) keeps its topology and results.json.
    public func pointDirectory(index: Int, key: String) -> String {
        workDirectory + "/" + directoryName(index, key)
    }

    /// Runs the sweep (skipping points already recorded) and returns, for each point in `spec.points` order,
    /// its CSV row (column → cell) when it ran successfully, nil when it failed.
    public func runAndCollect() throws -> [[String: String]?] {
        _ = try run()
        let rows = Dictionary(
            try SweepCSV.rows(path: spec.output).compactMap { row in row["point"].map { ($0, row) } },
            uniquingKeysWith: { _, last in last })
        return spec.points.map { point in rows[spec.key(point)].flatMap { $0["status"] == "ok" ? $0 : nil } }
    }
}

/// The sweep's progress bar on stderr: points done / total, elapsed and estimated time left, and the last
/// point's throughput.
final class SweepProgress {
    let enabled: Bool
    let total: Int
    let skipped: Int
    let label: String
    let start = WallClock.monotonicMs()
    let isTerminal = isatty(STDERR_FILENO) != 0

    init(enabled: Bool, total: Int, skipped: Int, label: String = "") {
        self.enabled = enabled
        self.total = total
        self.skipped = skipped
        self.label = label.isEmpty ? "" : label + " "
        if enabled && skipped > 0 { write("sweep: \(skipped) of \(total) points already in the CSV, skipped") }
    }

    func update(done: Int, throughput: Double?) {
        guard enabled else { return }
        let elapsed = Double(WallClock.monotonicMs() - start) / 1000
        let ran = done - skipped
        let left = ran > 0 ? elapsed / Double(ran) * Double(total - done) : 0
        let width = 30
        let filled = total > 0 ? done * width / total : width
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let last = throughput.map { String(format: "%.1f tokens/s", $0) } ?? "failed"
        write(
            label
                + String(
                    format: "[%@] %d/%d points · elapsed %.0f s · left ~%.0f s · last %@", bar, done, total,
                    elapsed, left, last), inPlace: true)
    }

    func finish() { if enabled && isTerminal { FileHandle.standardError.write(Data("\n".utf8)) } }

    private func write(_ line: String, inPlace: Bool = false) {
        let text = inPlace && isTerminal ? "\r\u{1B}[K" + line : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }
}
