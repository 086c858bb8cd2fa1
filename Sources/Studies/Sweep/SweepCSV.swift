import Cluster
import Foundation
import Pipeline
import Workload

/// The sweep's CSV: one row per point, appended as each point finishes. Columns: `point` (the key of its
/// field values), one column per swept field, `status` (ok / failed), `error`, then the headline figures,
/// each column named with its unit.
public struct SweepCSV {
    public static let figures = [
        "throughput_tokens_per_s", "makespan_ps", "token_latency_p50_ps", "token_latency_p99_ps",
        "time_per_output_token_p50_ps", "mean_effective_batch_requests", "pipeline_bubble_fraction",
        "kv_mean_used_fraction", "energy_per_token_j", "wall_seconds", "exposed_comm_fraction", "prefill_wait_ps",
        "functional_max_abs_error", "functional_max_rel_error", "functional_token_agreement_fraction",
    ]

    public let path: String
    public let header: [String]

    public init(path: String, fields: [String]) {
        self.path = path
        header = ["point"] + fields + ["status", "error"] + Self.figures
    }

    /// Keys of the points already in the file; creates the file with its header when missing. A file with
    /// another header is refused (it belongs to another sweep). A last row cut off by a crash (no line end,
    /// or too few cells) is removed with a warning on stderr, so that its point runs again.
    public func recordedPoints() throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: path) else {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent,
                withIntermediateDirectories: true)
            try CSVTable.encode([header]).write(toFile: path, atomically: true, encoding: .utf8)
            return []
        }
        let text = try Self.read(path)
        var table = try CSVTable.parse(text, file: path, strict: false)
        if table.header != header, table.header.count < header.count,
            Array(header.prefix(table.header.count)) == table.header
        {
            // A CSV from a lolpim with fewer figure columns (they are only ever added at the end): its rows get
            // the new columns empty, and the points keep their figures.
            let added = header.dropFirst(table.header.count).joined(separator: ", ")
            FileHandle.standardError.write(Data("lolpim: warning: \(path): adding the columns \(added)\n".utf8))
            table.rows = table.rows.map { row in
                var row = row
                if row.cells.count == table.header.count {
                    row.cells += Array(repeating: "", count: header.count - table.header.count)
                }
                return row
            }
            table.header = header
            try write(table.rows.map(\.cells))
        }
        guard table.header == header else {
            throw TopologyError(
                file: path, line: 1, field: "",
                message: "this CSV has other columns than the sweep "
                    + "(\(header.joined(separator: ","))); give the sweep another output or remove the file")
        }
        if let last = table.rows.last, !text.hasSuffix("\n") || last.cells.count != header.count {
            table.rows.removeLast()
            let warning =
                "lolpim: warning: \(path):\(last.line): the last row was cut off (a run stopped while "
                + "writing it); removed, its point runs again\n"
            FileHandle.standardError.write(Data(warning.utf8))
            try write(table.rows.map(\.cells))
        }
        if let bad = table.rows.first(where: { $0.cells.count != header.count }) {
            throw TopologyError(
                file: path, line: bad.line, field: "",
                message: "expected \(header.count) cells, found "
                    + "\(bad.cells.count); the file was changed by hand or by another program")
        }
        // Written back as a row is appended (a new file renamed over it): proven to work before any point runs,
        // so that no finished point's row is lost to an unwritable CSV.
        do {
            try write(table.rows.map(\.cells))
        } catch {
            throw TopologyError(
                file: path, field: "",
                message: "cannot write the sweep's CSV (\((error as NSError).localizedFailureReason ?? "\(error)")); "
                    + "give the sweep another output")
        }
        return Set(table.rows.map { $0.cells[0] })
    }

    /// Appends one row atomically: the file with the new row is written beside it and renamed over it, so a
    /// crash leaves either the old file or the new one, never a torn row.
    public func append(_ cells: [String]) throws {
        let existing = try CSVTable.parse(Self.read(path), file: path, strict: false)
        try write(existing.rows.map(\.cells) + [cells])
    }

    private func write(_ rows: [[String]]) throws {
        try Data(CSVTable.encode([header] + rows).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The figures of a finished run, in `figures` order.
    public static func figures(_ r: RunResults) -> [String] {
        let s = r.simulated
        return [
            String(s.throughputTokensPerS), String(s.makespanPs), String(s.tokenLatency.p50Ps),
            String(s.tokenLatency.p99Ps), String(s.requests.timePerOutputToken.p50Ps),
            String(s.requests.meanEffectiveBatch), String(s.pipelineBubbleFraction), String(s.kv.meanUsedFraction),
            String(s.energyPerTokenJ), String(r.wallclock.runSeconds),
            // Only with a network (`simulated.network`); empty otherwise.
            s.network.map { String($0.meanExposedFraction) } ?? "", s.network.map { String($0.prefillWaitPs) } ?? "",
                // Only in functional runs (`functional`); empty otherwise.
        ] + functionalFigures(r.functional)
    }

    /// A functional run's largest logit error against the reference (absolute, and over the step's largest
    /// reference logit) and the fraction of steps whose token the reference also chose.
    static func functionalFigures(_ f: FunctionalResults?) -> [String] {
        guard let f, f.requests.contains(where: { $0.maxAbsError != nil }) else { return ["", "", ""] }
        let relative = f.requests.compactMap { $0.maxRelError?.max() }.max() ?? 0
        let (agree, steps) = f.tokenAgreement
        return [String(f.worstAbsError), String(relative), String(steps > 0 ? Double(agree) / Double(steps) : 0)]
    }

    /// The rows of a sweep CSV as column → cell; a malformed row is an error naming its line.
    public static func rows(path: String) throws -> [[String: String]] {
        try CSVTable.parse(read(path), file: path).records
    }

    /// The largest sweep CSV read (64 MiB; `SweepSpec.maxPoints` rows take a few).
    public static let maxFileBytes = 64 << 20

    /// A sweep CSV's text, read as every input is (`InputFile`): errors name the file and what is wrong.
    static func read(_ path: String) throws -> String {
        do {
            return try InputFile.text(path, what: "sweep CSV", maxBytes: maxFileBytes)
        } catch {
            throw TopologyError(file: path, line: error.line, field: "", message: error.message)
        }
    }

    /// One row as a CSV line (no line end).
    static func line(_ cells: [String]) -> String { String(CSVTable.encode([cells]).dropLast()) }

    /// Every row of CSV text, the header first, without checking cell counts.
    static func parse(_ text: String) -> [[String]] {
        guard let table = try? CSVTable.parse(text, file: "", strict: false) else { return [] }
        return [table.header] + table.rows.map(\.cells)
    }
}
