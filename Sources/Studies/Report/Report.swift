import Cluster
import Foundation
import PIMModule
import Pipeline
import Workload

/// `lolpim report`: SVG charts and a self-contained HTML page from a run's results.json or a sweep's CSV.
public enum Report {
    /// Writes the charts and `index.html` into `directory`; returns the files written.
    /// Writes the charts and `index.html` into `directory`; returns the files written. The input is read and
    /// checked before the directory is made: every problem names the file, the line and the field.
    public static func generate(input: String, directory: String) throws -> [String] {
        let charts: [(name: String, svg: String)]
        let table: String
        if input.hasSuffix(".csv") {
            (charts, table) = try sweepCharts(try CSVTable.parse(SweepCSV.read(input), file: input), input: input)
        } else {
            (charts, table) = runCharts(try RunResults.load(path: input))
        }
        try OutputDirectory.prepareDirectory(directory, what: "report directory")
        var files: [String] = []
        for chart in charts {
            let path = directory + "/" + chart.name + ".svg"
            try chart.svg.write(toFile: path, atomically: true, encoding: .utf8)
            files.append(path)
        }
        let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let sections = charts.map {
            "<h2>\(SVGChart.escape($0.name))</h2>\n" + $0.svg.replacingOccurrences(of: declaration, with: "")
        }.joined(separator: "\n")
        let html = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>lolpim report: \(SVGChart.escape(input))</title>
            <style>body{font-family:sans-serif;margin:2em;max-width:1100px} table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f4f4f4}</style></head>
            <body><h1>lolpim report</h1><p>Source: \(SVGChart.escape(input))</p>
            \(table)
            \(sections)
            </body></html>
            """
        let index = directory + "/index.html"
        try html.write(toFile: index, atomically: true, encoding: .utf8)
        return files + [index]
    }

    // MARK: A run

    static func runCharts(_ r: RunResults) -> ([(String, String)], String) {
        let s = r.simulated
        // One bar per module: its stage, and its member of the stage's tensor-parallel group when there is one.
        let tp = s.stages.contains { $0.tpMember > 0 }
        let stages = s.stages.map { "stage \($0.stage)" + (tp ? " tp \($0.tpMember)" : "") }
        let ms = { (ps: Picoseconds) in Time.seconds(ps) * 1000 }
        let kinds = OpKind.allCases.map(\.rawValue).filter { k in s.stages.contains { ($0.opTimePs[k] ?? 0) > 0 } }
        // One bar per stage and one for the host; each layer is a kind of time (ms), 0 where it does not apply.
        var layers = kinds.map { "compute: \($0)" }
        var values = kinds.map { k in s.stages.map { ms($0.opTimePs[k] ?? 0) } + [0] }
        layers.append("communication (outgoing link busy)")
        values.append(s.stages.map { ms($0.egressBusyPs) } + [0])
        layers.append("host (sampling, scheduling, DPA)")
        values.append(s.stages.map { _ in 0 } + [ms(s.host.busyPs)])
        layers.append("idle (bubble)")
        values.append(
            s.stages.map { ms(max(0, $0.idlePs - $0.egressBusyPs)) } + [ms(max(0, s.makespanPs - s.host.busyPs))])
        let moduleAxis = tp ? "module (pipeline stage, tensor-parallel member)" : "pipeline stage"
        let breakdown = SVGChart(
            title: "Where each module's and the host's time goes", xLabel: moduleAxis,
            yLabel: "time (ms)"
        )
        .stackedBars(categories: stages + ["host"], layers: layers, values: values)
        let energyLayers = ["MAC", "I/O", "activation", "refresh", "background", "HUB"]
        let energy = SVGChart(title: "Energy by component", xLabel: moduleAxis, yLabel: "energy (J)")
            .stackedBars(
                categories: stages, layers: energyLayers,
                values: [
                    s.stages.map(\.energy.macJ), s.stages.map(\.energy.ioJ), s.stages.map(\.energy.activationJ),
                    s.stages.map(\.energy.refreshJ), s.stages.map(\.energy.backgroundJ), s.stages.map(\.energy.hubJ),
                ])
        let series = s.kv.series
        let kv = SVGChart(
            title: "KV capacity over time", xLabel: "simulated time (ms)", yLabel: "fraction of KV capacity"
        )
        .line([
            SVGChart.Series(name: "holding tokens", points: series.map { ($0[0] / 1e9, $0[2]) }),
            SVGChart.Series(name: "reserved / allocated", points: series.map { ($0[0] / 1e9, $0[3]) }),
        ])
        let batch = SVGChart(
            title: "Effective batch over time", xLabel: "simulated time (ms)", yLabel: "requests decoding"
        )
        .line([SVGChart.Series(name: "active requests", points: series.map { ($0[0] / 1e9, $0[1]) })])
        let rows: [(String, String)] = [
            ("throughput", String(format: "%.1f tokens/s", s.throughputTokensPerS)),
            (
                "generated",
                "\(s.generatedTokens) tokens in \(String(format: "%.3f", Time.seconds(s.makespanPs) * 1000)) ms"
            ),
            (
                "token latency p50 / p99",
                String(
                    format: "%.3f / %.3f ms", Time.seconds(s.tokenLatency.p50Ps) * 1000,
                    Time.seconds(s.tokenLatency.p99Ps) * 1000)
            ),
            ("mean effective batch", String(format: "%.2f requests", s.requests.meanEffectiveBatch)),
            ("pipeline bubble", String(format: "%.1f %%", s.pipelineBubbleFraction * 100)),
            ("energy per token", String(format: "%.2f mJ", s.energyPerTokenJ * 1000)),
        ]
        let table =
            "<table>" + rows.map { "<tr><th>\($0.0)</th><td>\(SVGChart.escape($0.1))</td></tr>" }.joined() + "</table>"
        var charts = [
            ("time-breakdown", breakdown), ("energy", energy), ("kv-capacity", kv), ("effective-batch", batch),
        ]
        if let network = s.network { charts += networkCharts(network) }
        return (charts, table)
    }

    /// With a network: each link class's mean and busiest-link utilisation, and each module's exposed
    /// communication.
    static func networkCharts(_ n: NetworkResult) -> [(String, String)] {
        var links = BarChart(
            title: "Link utilisation by class (mean over the class, and its busiest link)", yLabel: "% of the run")
        links.valueFormat = "%.1f"
        let bars = n.linkClasses.filter { $0.links > 0 }.flatMap { c in
            [
                BarChart.Bar(category: "\(c.linkClass) mean", value: c.utilisationFraction * 100, group: "mean"),
                BarChart.Bar(
                    category: "\(c.linkClass) busiest", value: c.peakUtilisationFraction * 100, group: "busiest link"),
            ]
        }
        var exposed = BarChart(title: "Exposed communication per module", yLabel: "% of the run")
        exposed.valueFormat = "%.2f"
        let modules = n.exposed.map { e in
            BarChart.Bar(category: "stage \(e.stage).\(e.member)", value: e.fraction * 100)
        }
        return [("link-utilisation", links.svg(bars)), ("exposed-communication", exposed.svg(modules))]
    }

    // MARK: A sweep

    /// Figures plotted for a sweep, with their axis labels (and a scale from the CSV's unit).
    /// An optional figure is empty in rows without it (the network's, without `network:`) and not drawn then.
    static let sweepFigures: [(column: String, label: String, scale: Double, optional: Bool)] = [
        ("throughput_tokens_per_s", "throughput (tokens/s)", 1, false),
        ("token_latency_p50_ps", "token latency p50 (ms)", 1e-9, false),
        ("mean_effective_batch_requests", "mean effective batch (requests)", 1, false),
        ("energy_per_token_j", "energy per token (mJ)", 1e3, false),
        ("exposed_comm_fraction", "exposed communication (% of the run)", 100, true),
        ("prefill_wait_ps", "prompt KV wait (s, summed over injections)", 1e-12, true),
        ("functional_max_abs_error", "largest logit error vs the reference (logit units)", 1, true),
        ("functional_max_rel_error", "largest logit error vs the reference (% of the largest logit)", 100, true),
        ("functional_token_agreement_fraction", "tokens the reference also chose (%)", 100, true),
    ]

    /// A cell's number when it is a finite one (a swept value of `inf` or `nan` names no point on an axis).
    static func number(_ cell: String) -> Double? { Double(cell).flatMap { $0.isFinite ? $0 : nil } }

    /// Charts of a sweep's CSV. Every row has the header's cell count (`CSVTable` checks it); a row marked
    /// `ok` whose figures are not numbers is refused at its line.
    static func sweepCharts(_ csv: CSVTable, input: String) throws -> ([(String, String)], String) {
        let header = csv.header
        guard let status = header.firstIndex(of: "status"), status > 1 else {
            throw TopologyError(file: input, line: 1, field: "", message: "not a lolpim sweep CSV (no status column)")
        }
        for row in csv.rows where row.cells[status] == "ok" {
            for figure in sweepFigures {
                guard let column = header.firstIndex(of: figure.column),
                    !(figure.optional && row.cells[column].isEmpty)
                else { continue }
                let cell = row.cells[column]
                if let value = Double(cell), value.isFinite, abs(value) <= RunResults.maxNumber { continue }
                throw TopologyError(
                    file: input, line: row.line, field: figure.column,
                    message: "expected a finite number of at most 2^62 in a row marked ok, found "
                        + "'\(SafeText.clip(cell, limit: 40))'")
            }
        }
        let rows = [header] + csv.rows.map(\.cells)
        let axes = Array(header[1..<status])
        let ok = rows.dropFirst().filter { $0[status] == "ok" }
        // The x axis: the first swept field whose values are all numbers; the others name the series.
        let xAxis = axes.indices.first { i in ok.allSatisfy { number($0[i + 1]) != nil } } ?? 0
        let xs = ok.compactMap { number($0[xAxis + 1]) }
        let logX = (xs.min() ?? 0) > 0 && (xs.max() ?? 0) / max(xs.min() ?? 1, 1e-300) >= 20
        var charts: [(String, String)] = []
        for figure in sweepFigures {
            guard let column = header.firstIndex(of: figure.column),
                ok.contains(where: { number($0[column]) != nil })
            else { continue }
            let groups = Dictionary(grouping: ok) { row in
                axes.indices.filter { $0 != xAxis }.map { "\(axes[$0])=\(row[$0 + 1])" }.joined(separator: ", ")
            }
            let series = groups.keys.sorted().map { key in
                SVGChart.Series(
                    name: key.isEmpty ? figure.label : key,
                    points: groups[key]!.compactMap { row in
                        guard let x = number(row[xAxis + 1]), let y = number(row[column]) else { return nil }
                        return (x, y * figure.scale)
                    }.sorted { $0.x < $1.x })
            }
            let svg = SVGChart(
                title: "\(figure.label) vs \(axes[xAxis])", xLabel: axes[xAxis], yLabel: figure.label,
                logX: logX
            ).line(series)
            charts.append((figure.column, svg))
        }
        let head: String = header.map { "<th>\(SVGChart.escape($0))</th>" }.joined()
        let body: String = rows.dropFirst().map { row -> String in
            "<tr>" + row.map { "<td>\(SVGChart.escape($0))</td>" }.joined() + "</tr>"
        }.joined()
        let table = "<table><tr>" + head + "</tr>" + body + "</table>"
        return (charts, table)
    }
}
