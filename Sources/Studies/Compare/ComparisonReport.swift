import Foundation
import PIMModule
import Workload

/// What `lolpim compare` prints and writes: two tables (systems, then the components), `comparison.csv`
/// (units in the header), `comparison-search.csv` (every configuration each row's search ran) and two SVG bar
/// charts (throughput, energy per token). docs/COMPARE.md §6 defines every column.
public enum ComparisonReport {
    public static let header = [
        "system", "kind", "configuration", "memory_gib", "tp", "pp", "micro_batches", "sub_batches",
        "configurations_searched", "throughput_tokens_per_s", "time_per_output_token_p50_ms",
        "mean_effective_batch_requests", "energy_per_token_mj", "attention_time_per_token_us",
        "attention_energy_per_token_mj", "attention_background_energy_fraction", "mac_utilisation_fraction",
        "kv_capacity_utilisation_fraction", "pipeline_bubble_fraction", "speedup_over_baseline", "speedup_over_a100",
        "speedup_over_h100", "speedup_over_gpu_pim", "note",
    ]

    static func f(_ v: Double?, _ format: String) -> String { v.map { String(format: format, $0) } ?? "" }
    static func gib(_ bytes: Int64) -> Double { Double(bytes) / 1_073_741_824 }

    static func cells(_ r: Comparison.Row) -> [String] {
        let m = r.figures
        return [
            r.system, r.kind.rawValue, r.configuration, f(gib(r.memoryBytes), "%.1f"), r.tp.map(String.init) ?? "",
            r.pp.map(String.init) ?? "", r.microBatches.map(String.init) ?? "", r.subBatches.map(String.init) ?? "",
            r.kind == .gpu || r.kind == .gpuPIM ? "" : String(r.searched.count),
            f(m?.throughputTokensPerS, "%.2f"), f(m.map { Time.seconds($0.timePerOutputTokenP50Ps) * 1000 }, "%.4f"),
            f(m?.meanEffectiveBatch, "%.3f"), f(m.map { $0.energyPerTokenJ * 1000 }, "%.3f"),
            f(m.map { $0.attentionTimePerTokenPs / 1e6 }, "%.3f"),
            f(m.map { $0.attentionEnergyPerTokenJ * 1000 }, "%.3f"),
            f(m?.attentionBackgroundFraction, "%.4f"), f(m?.macUtilisationFraction, "%.4f"),
            f(m?.kvCapacityUtilisationFraction, "%.4f"), f(m?.pipelineBubbleFraction, "%.4f"),
            f(r.speedupOverBaseline, "%.3f"), f(r.speedupOverA100, "%.3f"), f(r.speedupOverH100, "%.3f"),
            f(r.speedupOverGPUPIM, "%.3f"), r.note ?? "",
        ]
    }

    static func line(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).enumerated().map { i, pair in
            i == 0 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0) : pair.0.leftPadding(pair.1)
        }.joined(separator: " ")
    }

    /// The systems table (throughput, latency, batch, energy, memory, speedups) with each row's configuration and
    /// note beneath it, then the components table.
    public static func table(_ rows: [Comparison.Row]) -> String {
        let widths = [46, 9, 8, 6, 9, 6, 7, 7, 8]
        var lines = [
            line(
                ["system", "tokens/s", "TPOT ms", "batch", "mJ/token", "GiB", "×base", "×A100", "×GPU-PIM"],
                widths)
        ]
        let columns = [
            "throughput_tokens_per_s", "time_per_output_token_p50_ms", "mean_effective_batch_requests",
            "energy_per_token_mj", "memory_gib", "speedup_over_baseline", "speedup_over_a100",
            "speedup_over_gpu_pim",
        ]
        for r in rows {
            let c = Dictionary(uniqueKeysWithValues: zip(header, cells(r)))
            lines.append(line([r.system] + columns.map { c[$0]! }, widths))
            lines.append("    " + r.configuration + (r.note.map { " — " + $0 } ?? ""))
        }
        let componentWidths = [46, 11, 12, 8, 6, 6, 8]
        lines += [
            "",
            line(
                ["components", "attn µs/tok", "attn mJ/tok", "attn bg", "MAC", "KV", "bubble"],
                componentWidths),
        ]
        func percent(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0 * 100) } ?? "—" }
        for r in rows {
            guard let m = r.figures else { continue }
            lines.append(
                line(
                    [
                        r.system, String(format: "%.3f", m.attentionTimePerTokenPs / 1e6),
                        String(format: "%.3f", m.attentionEnergyPerTokenJ * 1000),
                        percent(m.attentionBackgroundFraction), percent(m.macUtilisationFraction),
                        percent(m.kvCapacityUtilisationFraction), percent(m.pipelineBubbleFraction),
                    ],
                    componentWidths))
        }
        return lines.joined(separator: "\n")
    }

    public static func csv(_ rows: [Comparison.Row]) -> String {
        CSVTable.encode([header] + rows.map(cells))
    }

    public static let searchHeader = [
        "system", "tp", "pp", "micro_batches", "sub_batches", "throughput_tokens_per_s",
        "chosen", "ranked_throughput_tokens_per_s",
    ]

    /// Every configuration every PIM row's search ran, with its throughput and whether the row chose it; under a
    /// ranked search also its throughput on the ranking's steps (the full throughput only for the confirmed).
    public static func searchCSV(_ rows: [Comparison.Row]) -> String {
        var lines = [searchHeader]
        for r in rows {
            for t in r.searched {
                let c = t.configuration
                let chosen =
                    r.tp == c.tp && r.pp == c.pp && r.microBatches == c.microBatches
                    && r.subBatches == c.subBatches
                lines.append([
                    r.system, String(c.tp), String(c.pp), String(c.microBatches),
                    c.subBatches.map(String.init) ?? "", f(t.throughputTokensPerS, "%.2f"),
                    chosen ? "yes" : "", f(t.rankedThroughputTokensPerS, "%.2f"),
                ])
            }
        }
        return CSVTable.encode(lines)
    }

    /// The chart group of a row: its kind, in words.
    static func group(_ kind: SystemKind) -> String {
        switch kind {
        case .gpu: "GPU"
        case .gpuPIM: "GPU-PIM"
        case .pimOnly: "PIM-only"
        case .xpuPIM: "xPU+PIM"
        }
    }

    /// Writes comparison.csv, comparison-search.csv and the two charts into `directory`; returns their paths.
    @discardableResult
    public static func write(_ rows: [Comparison.Row], title: String, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var paths = [directory + "/comparison.csv", directory + "/comparison-search.csv"]
        try csv(rows).write(toFile: paths[0], atomically: true, encoding: .utf8)
        try searchCSV(rows).write(toFile: paths[1], atomically: true, encoding: .utf8)
        let ran = rows.filter { $0.figures != nil }
        var throughput = BarChart(
            title: "\(title): decode throughput (× over the row's baseline)",
            yLabel: "throughput (tokens/s)")
        throughput.valueFormat = "%.0f"
        var energy = BarChart(title: "\(title): energy per generated token", yLabel: "energy per token (mJ)")
        energy.valueFormat = "%.0f"
        // The throughput bars carry each row's speedup over its baseline (CENT-like, NeuPIMs-like, the A100 row).
        let speedups = ran.map { $0.speedupOverBaseline.map { String(format: "%.2f×", $0) } }
        let charts = [
            ("comparison-throughput.svg", throughput, ran.map { $0.figures!.throughputTokensPerS }, speedups),
            ("comparison-energy.svg", energy, ran.map { $0.figures!.energyPerTokenJ * 1000 }, ran.map { _ in nil }),
        ]
        for (file, chart, values, notes) in charts {
            let bars = ran.indices.map { i in
                BarChart.Bar(category: ran[i].label, value: values[i], group: group(ran[i].kind), note: notes[i])
            }
            paths.append(directory + "/" + file)
            try chart.svg(bars).write(toFile: paths.last!, atomically: true, encoding: .utf8)
        }
        return paths
    }
}
