import Foundation

/// The sweep's CSV: one row per point, appended as each point finishes. Columns: `point` (the key of its
/// field values), one column per swept field, `status` (ok / failed), `error`, then the headline figures,
/// each column named with its unit.
public struct SweepCSV {
    public static let figures = [
        "throughput_tokens_per_s", "makespan_ps", "token_latency_p50_ps", "token_latency_p99_ps",
        "time_per_output_token_p50_ps", "mean_effective_batch_requests", "pipeline_bubble_fraction",
        "kv_mean_used_fraction", "energy_per_token_j", "wall_seconds",
    ]

    public let path: String
    public let header: [String]

    public init(path: String, fields: [String]) {
        self.path = path
        header = ["point"] + fields + ["status", "error"] + Self.figures
    }

    /// Keys of the points already in the file; creates the file with its header when missing. A file with
    /// another header is refused (it belongs to another sweep).
    public func recordedPoints() throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: path) else {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try (Self.line(header) + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            return []
        }
        let rows = try Self.parse(String(contentsOfFile: path, encoding: .utf8))
        guard let first = rows.first, first == header else {
            throw TopologyError(file: path, line: 1, field: "", message: "this CSV has other columns than the sweep "
                                + "(\(header.joined(separator: ","))); give the sweep another output or remove the file")
        }
        return Set(rows.dropFirst().compactMap(\.first))
    }

    /// Appends one row and flushes it to disk.
    public func append(_ cells: [String]) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((Self.line(cells) + "\n").utf8))
        try handle.synchronize()
    }

    /// The figures of a finished run, in `figures` order.
    public static func figures(_ r: RunResults) -> [String] {
        let s = r.simulated
        return [String(s.throughputTokensPerS), String(s.makespanPs), String(s.tokenLatency.p50Ps),
                String(s.tokenLatency.p99Ps), String(s.requests.timePerOutputToken.p50Ps),
                String(s.requests.meanEffectiveBatch), String(s.pipelineBubbleFraction), String(s.kv.meanUsedFraction),
                String(s.energyPerTokenJ), String(r.wallclock.runSeconds)]
    }

    static func line(_ cells: [String]) -> String {
        cells.map { cell in
            cell.contains(",") || cell.contains("\"") || cell.contains("\n")
                ? "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : cell
        }.joined(separator: ",")
    }

    /// RFC 4180 rows (quoted cells may hold commas, quotes and newlines).
    /// The rows of a sweep CSV as column → cell.
    public static func rows(path: String) throws -> [[String: String]] {
        let rows = parse(try String(contentsOfFile: path, encoding: .utf8))
        guard let header = rows.first else { return [] }
        return rows.dropFirst().map { Dictionary(zip(header, $0), uniquingKeysWith: { a, _ in a }) }
    }

    static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], cell = ""
        var quoted = false
        var chars = Array(text)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { cell.append("\""); chars.removeFirst() } else { quoted = false }
                } else {
                    cell.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(cell)
                cell = ""
            } else if c == "\n" {
                row.append(cell)
                rows.append(row)
                row = []
                cell = ""
            } else {
                cell.append(c)
            }
        }
        if !cell.isEmpty || !row.isEmpty { rows.append(row + [cell]) }
        return rows
    }
}
