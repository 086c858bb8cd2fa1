import Foundation
import PIMModule

/// What `lolpim compare` prints and writes: a table, `comparison.csv` (units in the header) and two SVG bar
/// charts (throughput, energy per token).
public enum ComparisonReport {
    public static let header = [
        "system", "configuration", "throughput_tokens_per_s", "time_per_output_token_p50_ms",
        "mean_effective_batch_requests", "energy_per_token_mj", "speedup_over_a100", "speedup_over_h100",
    ]

    static func cells(_ r: Comparison.Row) -> [String] {
        func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "" }
        return [r.system, r.configuration, f(r.throughputTokensPerS, "%.2f"),
                f(r.timePerOutputTokenP50Ps.map { Time.seconds($0) * 1000 }, "%.4f"), f(r.meanEffectiveBatch, "%.3f"),
                f(r.energyPerTokenJ.map { $0 * 1000 }, "%.3f"), f(r.speedupOverA100, "%.3f"), f(r.speedupOverH100, "%.3f")]
    }

    public static func table(_ rows: [Comparison.Row]) -> String {
        let widths = [58, 12, 9, 8, 10, 7, 7]
        func line(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { i, pair in
                i == 0 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0) : pair.0.leftPadding(pair.1)
            }.joined(separator: " ")
        }
        var lines = [line(["system", "tokens/s", "TPOT ms", "batch", "mJ/token", "×A100", "×H100"])]
        for r in rows {
            let c = cells(r)
            lines.append(line([r.system, c[2], c[3], c[4], c[5], c[6], c[7]]))
            lines.append("    " + r.configuration)
        }
        return lines.joined(separator: "\n")
    }

    public static func csv(_ rows: [Comparison.Row]) -> String {
        ([header] + rows.map(cells)).map(SweepCSV.line).joined(separator: "\n") + "\n"
    }

    /// Writes comparison.csv and the two charts into `directory`; returns their paths.
    @discardableResult
    public static func write(_ rows: [Comparison.Row], title: String, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let names = rows.map(\.label)
        let charts: [(String, SVGChart, [Double])] = [
            ("comparison-throughput.svg", SVGChart(title: "\(title): decode throughput", xLabel: "system",
                                                   yLabel: "throughput (tokens/s)"),
             rows.map { $0.throughputTokensPerS ?? 0 }),
            ("comparison-energy.svg", SVGChart(title: "\(title): energy per generated token", xLabel: "system",
                                               yLabel: "energy per token (mJ)"),
             rows.map { ($0.energyPerTokenJ ?? 0) * 1000 }),
        ]
        var paths = [directory + "/comparison.csv"]
        try csv(rows).write(toFile: paths[0], atomically: true, encoding: .utf8)
        for (file, chart, values) in charts {
            let path = directory + "/" + file
            try chart.stackedBars(categories: names, layers: [chart.yLabel], values: [values])
                .write(toFile: path, atomically: true, encoding: .utf8)
            paths.append(path)
        }
        return paths
    }
}
