import Cluster
import Foundation
import Pipeline
import Synchronization

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
    /// What the points' in-process workers reuse from each other (every point of this runner shares it).
    public var caches = ProcessCaches()
    /// Names each point's directory under `workDirectory` from its index and key (default `point-INDEX`).
    /// `lolpim compare` names them after the key, so that a point keeps its directory when the list changes.
    public var directoryName: @Sendable (Int, String) -> String = { index, _ in "point-\(index)" }
    /// Shown before the progress bar (for example the stage of a comparison).
    public var progressLabel = ""
    /// Points run at once (each a whole run; the simulated results do not depend on it). Rows are appended in
    /// point order, a batch of `jobs` points at a time.
    public var jobs = 1

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
        // Indices only: a point's values are made when its batch runs.
        let todo = spec.points.indices.filter { !done.contains(spec.key(spec.points[$0])) }
        var summary = Summary(total: spec.points.count, skipped: spec.points.count - todo.count, ran: 0, failed: 0)
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let bar = SweepProgress(
            enabled: progress, total: spec.points.count, skipped: summary.skipped,
            label: progressLabel)
        var next = todo.startIndex
        while next < todo.endIndex {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            // What each point of the batch runs, as text (the YAML nodes are not Sendable).
            let batch = todo[next..<min(next + max(jobs, 1), todo.endIndex)].map { index in
                let point = spec.points[index]
                let key = spec.key(point)
                return PointJob(
                    key: key, values: point.map(SweepSpec.text), text: Result { try spec.topologyText(for: point) },
                    directory: pointDirectory(index: index, key: key))
            }
            next += batch.count
            let outcomes = Mutex<[Int: Result<PointOutcome, any Error>]>([:])
            let settings = settings
            DispatchQueue.concurrentPerform(iterations: batch.count) { i in
                let outcome = Result { try Self.run(batch[i], settings) }
                outcomes.withLock { $0[i] = outcome }
            }
            let results = outcomes.withLock { $0 }
            for i in batch.indices {
                let outcome = try results[i]!.get()  // Ctrl-C: the point is not recorded, a re-run does it again
                try csv.append(outcome.row)
                summary.ran += 1
                if outcome.throughput == nil { summary.failed += 1 }
                bar.update(done: summary.skipped + summary.ran, throughput: outcome.throughput)
            }
        }
        bar.finish()
        return summary
    }

    /// A point's CSV row, and its throughput when it ran.
    struct PointOutcome: Sendable {
        var row: [String]
        var throughput: Double?
    }

    /// One point of a batch, ready to run on any thread.
    struct PointJob: Sendable {
        var key: String
        var values: [String]
        var text: Result<String, any Error>
        var directory: String
    }

    /// How every point runs.
    struct Settings: Sendable {
        var transport: TransportKind
        var registrationTimeoutMs: Int
        var heartbeatTimeoutMs: Int
        var kernelStore: KernelStoreChoice
        var caches: ProcessCaches
    }

    var settings: Settings {
        Settings(
            transport: spec.transport, registrationTimeoutMs: registrationTimeoutMs,
            heartbeatTimeoutMs: heartbeatTimeoutMs, kernelStore: kernelStore, caches: caches)
    }

    /// Runs one point: its row, `failed` with the error when it did not run; throws only on Ctrl-C.
    static func run(_ job: PointJob, _ settings: Settings) throws -> PointOutcome {
        do {
            try FileManager.default.createDirectory(atPath: job.directory, withIntermediateDirectories: true)
            let file = job.directory + "/topology.yaml"
            try job.text.get().write(toFile: file, atomically: true, encoding: .utf8)
            let plan = try PipelinePlan(topology: TopologyLoader.load(path: file))
            var launcher = Launcher(topologyFile: file, transport: settings.transport, outputDirectory: job.directory)
            launcher.progress = false
            launcher.registrationTimeoutMs = settings.registrationTimeoutMs
            launcher.heartbeatTimeoutMs = settings.heartbeatTimeoutMs
            launcher.kernelStore = settings.kernelStore
            launcher.caches = settings.caches
            let (results, _) = try launcher.run(plan: plan)
            return PointOutcome(
                row: [job.key] + job.values + ["ok", ""] + SweepCSV.figures(results),
                throughput: results.simulated.throughputTokensPerS)
        } catch let error as RuntimeError where error.exitCode == 130 {
            throw error
        } catch {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            return PointOutcome(
                row: [job.key] + job.values + ["failed", "\(error)"]
                    + Array(repeating: "", count: SweepCSV.figures.count),
                throughput: nil)
        }
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
