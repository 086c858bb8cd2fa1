import Foundation
import Workload

/// One figure of `lolpim paper`'s page: the files it writes (its SVG charts and CSV) and its section of the page.
/// Every published value it marks comes from `PublishedFigures`.
protocol PaperFigure {
    var section: PaperPage.Section { get }
    func files() -> [PaperPage.File]
}

extension PublishedFigure {
    /// The published value or range, as a chart's reference mark.
    var range: ClosedRange<Double> { low...high }
    /// The same for a fraction, in percent.
    var percentRange: ClosedRange<Double> { (low * 100)...(high * 100) }
}

/// (a) Both ladders, one chart per model × dataset: the speedup of every rung over its ladder's baseline.
struct LadderFigure: PaperFigure {
    var parts: [PaperStudy.Part]

    var section: PaperPage.Section {
        PaperPage.Section(
            title: "(a) Both ladders on the four models × their datasets",
            text: "Each PIM row at its best configuration (its own search); speedups over the first rung of "
                + "its ladder. The PIM-only ladder starts twice: CENT (its code's mapping) and CENT-like (head-first, "
                + "as the LoL-PIM paper describes it); both are set against CENT-like.",
            images: parts.map(Self.image), csv: "a-ladders.csv")
    }

    static func image(_ part: PaperStudy.Part) -> String { "a-\(part.name).svg" }

    func files() -> [PaperPage.File] {
        let header = ["model", "dataset"] + ComparisonReport.header
        let rows = parts.flatMap { part in part.rows.map { [part.model, part.dataset] + ComparisonReport.cells($0) } }
        return parts.map { PaperPage.File(name: Self.image($0), text: chart($0)) }
            + [PaperPage.File(name: "a-ladders.csv", text: CSVTable.encode([header] + rows))]
    }

    /// The PIM rows of one model × dataset; LoL-PIM's bar on each ladder carries the paper's figure for it.
    func chart(_ part: PaperStudy.Part) -> String {
        let overBaseline = PaperPage.isGQA(part.model) ? PublishedFigures.overCENTGQA : PublishedFigures.overCENTNonGQA
        var chart = BarChart(
            title: "(a) \(part.name): speedup over the ladder's baseline",
            yLabel: "throughput / CENT-like or NeuPIMs-like (×)")
        chart.valueFormat = "%.2f"
        chart.referenceLabel = "paper (LoL-PIM over CENT or NeuPIMs; \"up to\" figures are maxima)"
        let bars = part.rows.filter { $0.kind == .pimOnly || $0.kind == .xpuPIM }.map { r in
            BarChart.Bar(
                category: r.label, value: r.speedupOverBaseline ?? 0, group: ComparisonReport.group(r.kind),
                reference: r.system == Ladder.pimOnly[3].name
                    ? overBaseline.range
                    : r.system == Ladder.xpuPIM[3].name ? PublishedFigures.overNeuPIMs.range : nil)
        }
        return chart.svg(bars)
    }
}

/// (b) Tensor vs pipeline parallelism: LoL-PIM's split stage of (a) on the 7B models.
struct SplitFigure: PaperFigure {
    var parts: [PaperStudy.Part]

    let section = PaperPage.Section(
        title: "(b) Tensor vs pipeline parallelism",
        text: "LoL-PIM at every tp × pp split, micro-batches = pipeline depth (the first stage of its search).",
        images: ["b-tp-vs-pp.svg"], csv: "b-tp-vs-pp.csv")

    /// The first trial of each split of LoL-PIM's search (its split-stage run: micro-batches = pipeline depth).
    var splits: [(part: PaperStudy.Part, trial: Comparison.Trial)] {
        parts.filter { $0.model.hasPrefix("llm-7b") }.flatMap { part in
            var seen = Set<[Int]>()
            let trials = PaperPage.lolPIM(part.rows)?.searched ?? []
            return trials.filter { seen.insert([$0.configuration.tp, $0.configuration.pp]).inserted }
                .map { (part, $0) }
        }
    }

    func files() -> [PaperPage.File] {
        var rows: [[String]] = [["model", "dataset", "tp", "pp", "micro_batches", "throughput_tokens_per_s"]]
        var bars: [BarChart.Bar] = []
        for (part, t) in splits {
            let c = t.configuration
            rows.append([
                part.model, part.dataset, String(c.tp), String(c.pp), String(c.microBatches),
                t.throughputTokensPerS.map { String(format: "%.2f", $0) } ?? "",
            ])
            bars.append(
                BarChart.Bar(
                    category: "\(part.name.replacingOccurrences(of: "llm-", with: "")) tp\(c.tp)×pp\(c.pp)",
                    value: t.throughputTokensPerS ?? 0, group: part.name))
        }
        var chart = BarChart(title: "(b) TP vs PP: LoL-PIM throughput per split", yLabel: "throughput (tokens/s)")
        chart.valueFormat = "%.0f"
        return [
            PaperPage.File(name: "b-tp-vs-pp.svg", text: chart.svg(bars)),
            PaperPage.File(name: "b-tp-vs-pp.csv", text: CSVTable.encode(rows)),
        ]
    }
}

/// (c) Scalability: both CENT rungs, LoL-PIM and NeuPIMs-like over system memory or over the context.
struct ScalingFigure: PaperFigure {
    var parts: [PaperStudy.Part]
    /// The files' base name.
    var name: String
    /// The x axis, on the chart and as the CSV's first column.
    var axis: String
    var column: String
    var title: String

    static func memory(_ parts: [PaperStudy.Part]) -> ScalingFigure {
        ScalingFigure(
            parts: parts, name: "c-memory", axis: "system memory (GB)", column: "memory_gb",
            title: "(c) Scaling the system")
    }

    static func context(_ parts: [PaperStudy.Part]) -> ScalingFigure {
        ScalingFigure(
            parts: parts, name: "c-context", axis: "context (tokens)", column: "context_tokens",
            title: "(c) Scaling the context on 512 GB")
    }

    var section: PaperPage.Section {
        PaperPage.Section(
            title: title,
            text: "CENT (its code's mapping), CENT-like (head-first), LoL-PIM and NeuPIMs-like, each at its best "
                + "configuration.",
            images: [name + ".svg"], csv: name + ".csv")
    }

    func files() -> [PaperPage.File] {
        let series = PaperStudy.scalingRungs.map { rung in
            SVGChart.Series(
                name: rung.label,
                points: parts.compactMap { p in
                    PaperPage.row(p.rows, rung)?.figures.map { (Double(p.x), $0.throughputTokensPerS) }
                })
        }
        let rows = parts.flatMap { p in p.rows.map { [String(p.x)] + ComparisonReport.cells($0) } }
        let chart = SVGChart(title: title, xLabel: axis, yLabel: "throughput (tokens/s)", logX: true, logY: true)
        return [
            PaperPage.File(name: name + ".svg", text: chart.line(series)),
            PaperPage.File(name: name + ".csv", text: CSVTable.encode([[column] + ComparisonReport.header] + rows)),
        ]
    }
}

/// (d) MAC utilisation of attention, ping-pong buffering against DCS; each DCS bar marks the paper's ratio.
struct MACFigure: PaperFigure {
    var points: [PaperStudy.MACPoint]
    static let published = PublishedFigures.dcsOverPingPong

    var section: PaperPage.Section {
        PaperPage.Section(
            title: "(d) DCS vs ping-pong buffering",
            text: "One module's QKᵀ and SV over one request (token-parallel, cent-32ch, 32 query heads); the mark on "
                + "each DCS bar is \(String(format: "%.1f", Self.published.low))× its ping-pong bar.",
            images: ["d-mac-utilisation.svg"], csv: "d-mac-utilisation.csv")
    }

    func files() -> [PaperPage.File] {
        var chart = BarChart(
            title: "(d) MAC utilisation of attention: ping-pong buffering vs DCS", yLabel: "MAC utilisation (%)")
        chart.referenceLabel = "paper: DCS up to \(String(format: "%.1f", Self.published.low))× ping-pong"
        let percent = Self.published.low * 100
        let bars = points.flatMap { p in
            [
                BarChart.Bar(category: "\(p.label) ping-pong", value: p.pingPong * 100, group: "ping-pong"),
                BarChart.Bar(
                    category: "\(p.label) DCS", value: p.dcs * 100, group: "DCS",
                    reference: (p.pingPong * percent)...(p.pingPong * percent)),
            ]
        }
        let header = ["attention", "group", "pingpong_mac_utilisation_fraction", "dcs_mac_utilisation_fraction"]
        let rows = points.map {
            [$0.label, String($0.group), String(format: "%.4f", $0.pingPong), String(format: "%.4f", $0.dcs)]
        }
        return [
            PaperPage.File(name: "d-mac-utilisation.svg", text: chart.svg(bars)),
            PaperPage.File(name: "d-mac-utilisation.csv", text: CSVTable.encode([header] + rows)),
        ]
    }
}

/// (e) KV capacity utilisation from (a): CENT-like + TCP + DCS (static allocation) against LoL-PIM (DPA).
struct KVFigure: PaperFigure {
    var parts: [PaperStudy.Part]

    let section = PaperPage.Section(
        title: "(e) KV capacity utilisation",
        text: "Time-weighted KV bytes in use over the KV capacity: CENT-like + TCP + DCS (static allocation) and "
            + "LoL-PIM (DPA), from (a).",
        images: ["e-kv-utilisation.svg"], csv: "a-ladders.csv")

    func files() -> [PaperPage.File] {
        let kvStatic = PublishedFigures.kvStatic, kvDPA = PublishedFigures.kvDPA
        var chart = BarChart(
            title: "(e) KV capacity utilisation: static allocation vs DPA", yLabel: "KV capacity utilisation (%)")
        chart.referenceLabel =
            "paper (static \(String(format: "%.1f–%.1f", kvStatic.low * 100, kvStatic.high * 100)) %, "
            + "DPA \(String(format: "%.1f", kvDPA.low * 100)) % on average)"
        chart.valueFormat = "%.1f"
        var bars: [BarChart.Bar] = []
        for part in parts {
            let short = part.name.replacingOccurrences(of: "llm-", with: "")
            guard let s = PaperPage.row(part.rows, Ladder.pimOnly[2])?.figures,
                let d = PaperPage.lolPIM(part.rows)?.figures
            else { continue }
            bars.append(
                BarChart.Bar(
                    category: "\(short) static", value: s.kvCapacityUtilisationFraction * 100, group: "static",
                    reference: kvStatic.percentRange))
            bars.append(
                BarChart.Bar(
                    category: "\(short) DPA", value: d.kvCapacityUtilisationFraction * 100, group: "DPA",
                    reference: kvDPA.percentRange))
        }
        return [PaperPage.File(name: "e-kv-utilisation.svg", text: chart.svg(bars))]
    }
}

/// (f) LoL-PIM against the memory-matched A100 and GPU-PIM rows of (a).
struct GPUFigure: PaperFigure {
    var parts: [PaperStudy.Part]

    let section = PaperPage.Section(
        title: "(f) LoL-PIM against GPUs",
        text: "LoL-PIM's throughput over the memory-matched A100 and GPU-PIM rows, from (a).",
        images: ["f-gpus.svg"], csv: "a-ladders.csv")

    func files() -> [PaperPage.File] {
        let overA100 = PublishedFigures.overMultiGPU, overGPUPIM = PublishedFigures.overGPUPIM
        var chart = BarChart(title: "(f) LoL-PIM against the A100 and GPU-PIM rows", yLabel: "speedup (×)")
        chart.valueFormat = "%.2f"
        chart.referenceLabel =
            "paper: up to \(String(format: "%.2f", overA100.low))× multi-GPU, "
            + "\(String(format: "%.1f", overGPUPIM.low))× GPU-PIM"
        let bars = parts.flatMap { part -> [BarChart.Bar] in
            let short = part.name.replacingOccurrences(of: "llm-", with: "")
            guard let l = PaperPage.lolPIM(part.rows) else { return [] }
            return [
                BarChart.Bar(
                    category: "\(short) ×A100", value: l.speedupOverA100 ?? 0, group: "over A100",
                    reference: overA100.range),
                BarChart.Bar(
                    category: "\(short) ×GPU-PIM", value: l.speedupOverGPUPIM ?? 0, group: "over GPU-PIM",
                    reference: overGPUPIM.range),
            ]
        }
        return [PaperPage.File(name: "f-gpus.svg", text: chart.svg(bars))]
    }
}
