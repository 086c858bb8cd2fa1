import Foundation
import Workload

/// Writes `lolpim paper`'s page: `index.html` with every figure (SVG beside it), one CSV per figure, and a
/// table of lolpim's value beside each figure the paper publishes.
public enum PaperPage {
    /// One line of the published-against-ours table.
    public struct Check: Sendable {
        public var figure: PublishedFigure
        /// Which of our figures it is compared with, in words.
        public var ours: String
        public var value: Double?
        /// Percent (fractions) or × (ratios).
        public var isFraction: Bool

        /// Ours over the published value (the middle of a published range).
        public var ratioToPublished: Double? { value.map { $0 / ((figure.low + figure.high) / 2) } }
    }

    static func lolPIM(_ rows: [Comparison.Row]) -> Comparison.Row? {
        rows.first { $0.system == Ladder.pimOnly[3].name }
    }
    static func row(_ rows: [Comparison.Row], _ rung: Rung) -> Comparison.Row? { rows.first { $0.system == rung.name } }
    static func ratio(_ a: Double?, _ b: Double?) -> Double? {
        guard let a, let b, b > 0 else { return nil }
        return a / b
    }
    static func isGQA(_ model: String) -> Bool { model.hasSuffix("gqa") }

    /// Our figure for each published one (the maximum over our set-ups where the paper's is an "up to").
    public static func checks(_ o: PaperStudy.Outcome) -> [Check] {
        func best(_ parts: [PaperStudy.Part], _ value: (PaperStudy.Part) -> Double?) -> Double? {
            parts.compactMap(value).max()
        }
        let nonGQA = o.ladders.filter { !isGQA($0.model) }, gqa = o.ladders.filter { isGQA($0.model) }
        let lol = Ladder.pimOnly[3], cent = Ladder.pimOnly[0], xlol = Ladder.xpuPIM[3], neu = Ladder.xpuPIM[0]
        func speedup(_ p: PaperStudy.Part, _ top: Rung, _ base: Rung) -> Double? {
            ratio(row(p.rows, top)?.figures?.throughputTokensPerS, row(p.rows, base)?.figures?.throughputTokensPerS)
        }
        let overCENT = nonGQA.compactMap { speedup($0, lol, cent) }
        let staticKV = o.ladders.compactMap { row($0.rows, Ladder.pimOnly[2])?.figures?.kvCapacityUtilisationFraction }
        let dpaKV = o.ladders.compactMap { row($0.rows, lol)?.figures?.kvCapacityUtilisationFraction }
        let million = o.contextScaling.last
        let short = o.contextScaling.first
        var checks = [
            Check(
                figure: PublishedFigures.overMultiGPU, ours: "max over (a) of LoL-PIM / A100 row",
                value: best(o.ladders) { lolPIM($0.rows)?.speedupOverA100 }, isFraction: false),
            Check(
                figure: PublishedFigures.overGPUPIM, ours: "max over (a) of LoL-PIM / GPU-PIM row",
                value: best(o.ladders) { lolPIM($0.rows)?.speedupOverGPUPIM }, isFraction: false),
            Check(
                figure: PublishedFigures.overCENTNonGQA, ours: "(a), 32K models: lowest LoL-PIM / CENT-like",
                value: overCENT.min(), isFraction: false),
            Check(
                figure: PublishedFigures.overCENTNonGQA, ours: "(a), 32K models: highest LoL-PIM / CENT-like",
                value: overCENT.max(), isFraction: false),
            Check(
                figure: PublishedFigures.overCENTGQA, ours: "max over (a), GQA models, of LoL-PIM / CENT-like",
                value: best(gqa) { speedup($0, lol, cent) }, isFraction: false),
            Check(
                figure: PublishedFigures.overNeuPIMs, ours: "max over (a) of LoL-PIM on xPU+PIM / NeuPIMs-like",
                value: best(o.ladders) { speedup($0, xlol, neu) }, isFraction: false),
            Check(
                figure: PublishedFigures.attentionSpeedup, ours: "max over (a) of CENT-like / LoL-PIM attention time",
                value: best(o.ladders) {
                    ratio(
                        row($0.rows, cent)?.figures?.attentionTimePerTokenPs,
                        row($0.rows, lol)?.figures?.attentionTimePerTokenPs)
                }, isFraction: false),
            Check(
                figure: PublishedFigures.kvStatic, ours: "(a), CENT-like + TCP + DCS (static), lowest",
                value: staticKV.min(), isFraction: true),
            Check(
                figure: PublishedFigures.kvStatic, ours: "(a), CENT-like + TCP + DCS (static), highest",
                value: staticKV.max(), isFraction: true),
            Check(
                figure: PublishedFigures.kvDPA, ours: "(a), LoL-PIM (DPA), mean over datasets",
                value: dpaKV.isEmpty ? nil : dpaKV.reduce(0, +) / Double(dpaKV.count), isFraction: true),
            Check(
                figure: PublishedFigures.dcsOverPingPong, ours: "(d), max of DCS / ping-pong",
                value: o.macUtilisation.map { $0.pingPong > 0 ? $0.dcs / $0.pingPong : 0 }.max(), isFraction: false),
        ]
        if let million {
            checks += [
                Check(
                    figure: PublishedFigures.millionOverCENT, ours: "(c) at \(million.x) tokens: LoL-PIM / CENT-like",
                    value: speedup(million, lol, cent), isFraction: false),
                Check(
                    figure: PublishedFigures.millionOverNeuPIMs,
                    ours: "(c) at \(million.x) tokens: LoL-PIM / NeuPIMs-like",
                    value: ratio(
                        row(million.rows, lol)?.figures?.throughputTokensPerS,
                        row(million.rows, neu)?.figures?.throughputTokensPerS), isFraction: false),
                Check(
                    figure: PublishedFigures.millionCENTUtilisation,
                    ours: "(c) at \(million.x) tokens: CENT-like MAC utilisation",
                    value: row(million.rows, cent)?.figures?.macUtilisationFraction, isFraction: true),
            ]
        }
        if let short {
            checks.append(
                Check(
                    figure: PublishedFigures.shortOverCENT,
                    ours: "(c) at \(short.x) tokens: LoL-PIM / CENT-like",
                    value: speedup(short, lol, cent), isFraction: false))
        }
        return checks
    }

    static func format(_ v: Double, fraction: Bool) -> String {
        fraction ? String(format: "%.1f %%", v * 100) : String(format: "%.2f×", v)
    }

    /// Writes everything into `directory`; returns the page's path.
    @discardableResult
    public static func write(_ o: PaperStudy.Outcome, to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func save(_ name: String, _ text: String) throws {
            try text.write(
                toFile: directory + "/" + name, atomically: true,
                encoding: .utf8)
        }
        var sections: [(title: String, text: String, images: [String], csv: String)] = []
        // (a) both ladders, one chart per model × dataset: speedup of every rung over its ladder's baseline.
        var aImages: [String] = []
        var aRows: [[String]] = [["model", "dataset"] + ComparisonReport.header]
        for part in o.ladders {
            let pim = part.rows.filter { $0.kind == .pimOnly || $0.kind == .xpuPIM }
            let reference = isGQA(part.model) ? PublishedFigures.overCENTGQA : PublishedFigures.overCENTNonGQA
            var chart = BarChart(
                title: "(a) \(part.name): speedup over the ladder's baseline",
                yLabel: "throughput / CENT-like or NeuPIMs-like (×)")
            chart.valueFormat = "%.2f"
            chart.referenceLabel = "paper (LoL-PIM over CENT or NeuPIMs; \"up to\" figures are maxima)"
            let bars = pim.map { r in
                BarChart.Bar(
                    category: r.label, value: r.speedupOverBaseline ?? 0, group: ComparisonReport.group(r.kind),
                    reference: r.system == Ladder.pimOnly[3].name
                        ? reference.low...reference.high
                        : r.system == Ladder.xpuPIM[3].name ? 8.4...8.4 : nil)
            }
            let file = "a-\(part.name).svg"
            try save(file, chart.svg(bars))
            aImages.append(file)
            aRows += part.rows.map { [part.model, part.dataset] + ComparisonReport.cells($0) }
        }
        try save("a-ladders.csv", CSVTable.encode(aRows))
        sections.append(
            (
                "(a) Both ladders on the four models × their datasets",
                "Each PIM row at its best configuration (its own search); speedups over the first rung of "
                    + "its ladder.", aImages, "a-ladders.csv"
            ))
        // (b) TP vs PP: the LoL-PIM row's split stage on the 7B models.
        var bRows: [[String]] = [["model", "dataset", "tp", "pp", "micro_batches", "throughput_tokens_per_s"]]
        var bBars: [BarChart.Bar] = []
        for part in o.ladders where part.model.hasPrefix("llm-7b") {
            guard let lol = lolPIM(part.rows) else { continue }
            // The first trial of each split is its split-stage run (micro-batches = pipeline depth).
            var seen = Set<[Int]>()
            let splits = lol.searched.filter { seen.insert([$0.configuration.tp, $0.configuration.pp]).inserted }
            for t in splits {
                let c = t.configuration
                bRows.append([
                    part.model, part.dataset, String(c.tp), String(c.pp), String(c.microBatches),
                    t.throughputTokensPerS.map { String(format: "%.2f", $0) } ?? "",
                ])
                bBars.append(
                    BarChart.Bar(
                        category: "\(part.name.replacingOccurrences(of: "llm-", with: "")) "
                            + "tp\(c.tp)×pp\(c.pp)", value: t.throughputTokensPerS ?? 0, group: part.name))
            }
        }
        var bChart = BarChart(title: "(b) TP vs PP: LoL-PIM throughput per split", yLabel: "throughput (tokens/s)")
        bChart.valueFormat = "%.0f"
        try save("b-tp-vs-pp.svg", bChart.svg(bBars))
        try save("b-tp-vs-pp.csv", CSVTable.encode(bRows))
        sections.append(
            (
                "(b) Tensor vs pipeline parallelism",
                "LoL-PIM at every tp × pp split, micro-batches = "
                    + "pipeline depth (the first stage of its search).", ["b-tp-vs-pp.svg"], "b-tp-vs-pp.csv"
            ))
        // (c) scalability.
        for (parts, name, axis, title) in [
            (o.memoryScaling, "c-memory", "system memory (GB)", "(c) Scaling the system"),
            (
                o.contextScaling, "c-context", "context (tokens)",
                "(c) Scaling the context on 512 GB"
            ),
        ] {
            var series: [SVGChart.Series] = []
            var rows: [[String]] = [[name == "c-memory" ? "memory_gb" : "context_tokens"] + ComparisonReport.header]
            for rung in PaperStudy.scalingRungs {
                series.append(
                    SVGChart.Series(
                        name: rung.label,
                        points: parts.compactMap { p in
                            row(p.rows, rung)?.figures.map { (Double(p.x), $0.throughputTokensPerS) }
                        }))
            }
            for p in parts { rows += p.rows.map { [String(p.x)] + ComparisonReport.cells($0) } }
            let chart = SVGChart(title: title, xLabel: axis, yLabel: "throughput (tokens/s)", logX: true, logY: true)
            try save(name + ".svg", chart.line(series))
            try save(name + ".csv", CSVTable.encode(rows))
            sections.append(
                (
                    title, "CENT-like, LoL-PIM and NeuPIMs-like, each at its best configuration.",
                    [name + ".svg"], name + ".csv"
                ))
        }
        // (d) DCS vs ping-pong.
        var dChart = BarChart(
            title: "(d) MAC utilisation of attention: ping-pong buffering vs DCS",
            yLabel: "MAC utilisation (%)")
        dChart.referenceLabel = "paper: DCS up to 1.4× ping-pong"
        let dBars = o.macUtilisation.flatMap { p in
            [
                BarChart.Bar(category: "\(p.label) ping-pong", value: p.pingPong * 100, group: "ping-pong"),
                BarChart.Bar(
                    category: "\(p.label) DCS", value: p.dcs * 100, group: "DCS",
                    reference: (p.pingPong * 140)...(p.pingPong * 140)),
            ]
        }
        try save("d-mac-utilisation.svg", dChart.svg(dBars))
        try save(
            "d-mac-utilisation.csv",
            CSVTable.encode(
                [
                    [
                        "attention", "group", "pingpong_mac_utilisation_fraction",
                        "dcs_mac_utilisation_fraction",
                    ]
                ]
                    + o.macUtilisation.map {
                        [
                            $0.label, String($0.group), String(format: "%.4f", $0.pingPong),
                            String(format: "%.4f", $0.dcs),
                        ]
                    }))
        sections.append(
            (
                "(d) DCS vs ping-pong buffering",
                "One module's QKᵀ and SV over one request (token-parallel, "
                    + "cent-32ch, 32 query heads); the mark on each DCS bar is 1.4× its ping-pong bar.",
                ["d-mac-utilisation.svg"], "d-mac-utilisation.csv"
            ))
        // (e) KV capacity utilisation and (f) against the GPUs.
        var eChart = BarChart(
            title: "(e) KV capacity utilisation: static allocation vs DPA",
            yLabel: "KV capacity utilisation (%)")
        eChart.referenceLabel = "paper (static 31.0–40.5 %, DPA 75.6 % on average)"
        var fChart = BarChart(title: "(f) LoL-PIM against the A100 and GPU-PIM rows", yLabel: "speedup (×)")
        fChart.valueFormat = "%.2f"
        fChart.referenceLabel = "paper: up to 8.54× multi-GPU, 16.0× GPU-PIM"
        var eBars: [BarChart.Bar] = [], fBars: [BarChart.Bar] = []
        for part in o.ladders {
            let short = part.name.replacingOccurrences(of: "llm-", with: "")
            if let s = row(part.rows, Ladder.pimOnly[2])?.figures, let d = lolPIM(part.rows)?.figures {
                eBars.append(
                    BarChart.Bar(
                        category: "\(short) static", value: s.kvCapacityUtilisationFraction * 100,
                        group: "static", reference: 31.0...40.5))
                eBars.append(
                    BarChart.Bar(
                        category: "\(short) DPA", value: d.kvCapacityUtilisationFraction * 100,
                        group: "DPA", reference: 75.6...75.6))
            }
            if let l = lolPIM(part.rows) {
                fBars.append(
                    BarChart.Bar(
                        category: "\(short) ×A100", value: l.speedupOverA100 ?? 0, group: "over A100",
                        reference: 8.54...8.54))
                fBars.append(
                    BarChart.Bar(
                        category: "\(short) ×GPU-PIM", value: l.speedupOverGPUPIM ?? 0,
                        group: "over GPU-PIM", reference: 16.0...16.0))
            }
        }
        eChart.valueFormat = "%.1f"
        try save("e-kv-utilisation.svg", eChart.svg(eBars))
        try save("f-gpus.svg", fChart.svg(fBars))
        sections.append(
            (
                "(e) KV capacity utilisation",
                "Time-weighted KV bytes in use over the KV capacity: "
                    + "CENT-like + TCP + DCS (static allocation) and LoL-PIM (DPA), from (a).",
                ["e-kv-utilisation.svg"], "a-ladders.csv"
            ))
        sections.append(
            (
                "(f) LoL-PIM against GPUs",
                "LoL-PIM's throughput over the memory-matched A100 and "
                    + "GPU-PIM rows, from (a).", ["f-gpus.svg"], "a-ladders.csv"
            ))
        let checks = Self.checks(o)
        try save(
            "published.csv",
            CSVTable.encode(
                [
                    [
                        "published_claim", "published_low", "published_high", "up_to",
                        "source",
                        "lolpim_figure", "lolpim_value", "ratio_to_published",
                    ]
                ]
                    + checks.map { c in
                        [
                            c.figure.claim, String(c.figure.low), String(c.figure.high),
                            c.figure.isMaximum ? "yes" : "",
                            c.figure.source, c.ours, c.value.map { String(format: "%.4f", $0) } ?? "",
                            c.ratioToPublished.map { String(format: "%.3f", $0) } ?? "",
                        ]
                    }))
        let page = html(o, sections: sections, checks: checks)
        try save("index.html", page)
        return directory + "/index.html"
    }

    static func escape(_ s: String) -> String { SVGChart.escape(s) }

    static func html(
        _ o: PaperStudy.Outcome, sections: [(title: String, text: String, images: [String], csv: String)],
        checks: [Check]
    ) -> String {
        var h = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>lolpim: the LoL-PIM evaluation</title>
            <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}
            img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}table{border-collapse:collapse}
            td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}td.n{text-align:right}</style></head><body>
            <h1>The LoL-PIM evaluation, regenerated by lolpim</h1>
            <p>Every figure below is lolpim's own, from full multi-process runs at command fidelity (docs/COMPARE.md,
            docs/VALIDATION.md). Marks on the charts are the values the paper publishes (arXiv 2412.20166); none of
            them is an input. \(o.quick ? "<b>Quick run</b>: every workload shrunk for a smoke test; the figures "
                + "are not the evaluation's." : "") Wall time: \(String(format: "%.0f", o.seconds)) s.</p>
            <h2>Published figures beside ours</h2>
            <table><tr><th>published</th><th>paper</th><th>lolpim figure</th><th>lolpim</th><th>ours / paper</th></tr>

            """
        for c in checks {
            let paper =
                c.figure.low == c.figure.high
                ? format(c.figure.low, fraction: c.isFraction)
                : format(c.figure.low, fraction: c.isFraction) + " – " + format(c.figure.high, fraction: c.isFraction)
            let ratio = c.ratioToPublished.map { String(format: "%.2f", $0) } ?? "—"
            h +=
                "<tr><td>\(escape(c.figure.claim))</td><td class=\"n\">\(c.figure.isMaximum ? "up to " : "")"
                + "\(escape(paper))</td><td>\(escape(c.ours))</td><td class=\"n\">"
                + "\(c.value.map { escape(format($0, fraction: c.isFraction)) } ?? "—")</td><td class=\"n\">\(ratio)"
                + "</td></tr>\n"
        }
        h += "</table>\n<p>As CSV: <a href=\"published.csv\">published.csv</a>.</p>\n"
        for s in sections {
            h += "<h2>\(escape(s.title))</h2>\n<p>\(escape(s.text)) Data: <a href=\"\(s.csv)\">\(s.csv)</a>.</p>\n"
            for image in s.images { h += "<img src=\"\(image)\" alt=\"\(escape(s.title))\">\n" }
        }
        return h + "</body></html>\n"
    }
}
