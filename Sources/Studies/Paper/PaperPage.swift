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
        speedupChecks(o) + utilisationChecks(o) + scalingChecks(o)
    }

    static func best(_ parts: [PaperStudy.Part], _ value: (PaperStudy.Part) -> Double?) -> Double? {
        parts.compactMap(value).max()
    }

    /// Throughput of rung `top` over rung `base` in one part.
    static func speedup(_ p: PaperStudy.Part, _ top: Rung, _ base: Rung) -> Double? {
        ratio(row(p.rows, top)?.figures?.throughputTokensPerS, row(p.rows, base)?.figures?.throughputTokensPerS)
    }

    /// The two CENT rungs the paper's CENT figures are set against: the head-first rung that follows the paper's
    /// description, and CENT's own code's mapping (docs/VALIDATION.md §6 says which the figures fit).
    static let centRungs = [Ladder.pimOnly[0], Ladder.centCode]

    /// (a) against the paper's speedups.
    static func speedupChecks(_ o: PaperStudy.Outcome) -> [Check] {
        let nonGQA = o.ladders.filter { !isGQA($0.model) }, gqa = o.ladders.filter { isGQA($0.model) }
        let lol = Ladder.pimOnly[3], xlol = Ladder.xpuPIM[3], neu = Ladder.xpuPIM[0]
        var checks = [
            Check(
                figure: PublishedFigures.overMultiGPU, ours: "max over (a) of LoL-PIM / A100 row",
                value: best(o.ladders) { lolPIM($0.rows)?.speedupOverA100 }, isFraction: false),
            Check(
                figure: PublishedFigures.overGPUPIM, ours: "max over (a) of LoL-PIM / GPU-PIM row",
                value: best(o.ladders) { lolPIM($0.rows)?.speedupOverGPUPIM }, isFraction: false),
        ]
        for cent in centRungs {
            let overCENT = nonGQA.compactMap { speedup($0, lol, cent) }
            checks += [
                Check(
                    figure: PublishedFigures.overCENTNonGQA, ours: "(a), 32K models: lowest LoL-PIM / \(cent.label)",
                    value: overCENT.min(), isFraction: false),
                Check(
                    figure: PublishedFigures.overCENTNonGQA, ours: "(a), 32K models: highest LoL-PIM / \(cent.label)",
                    value: overCENT.max(), isFraction: false),
                Check(
                    figure: PublishedFigures.overCENTGQA, ours: "max over (a), GQA models, of LoL-PIM / \(cent.label)",
                    value: best(gqa) { speedup($0, lol, cent) }, isFraction: false),
                Check(
                    figure: PublishedFigures.attentionSpeedup,
                    ours: "max over (a) of \(cent.label) / LoL-PIM attention time",
                    value: best(o.ladders) {
                        ratio(
                            row($0.rows, cent)?.figures?.attentionTimePerTokenPs,
                            row($0.rows, lol)?.figures?.attentionTimePerTokenPs)
                    }, isFraction: false),
            ]
        }
        checks.append(
            Check(
                figure: PublishedFigures.overNeuPIMs, ours: "max over (a) of LoL-PIM on xPU+PIM / NeuPIMs-like",
                value: best(o.ladders) { speedup($0, xlol, neu) }, isFraction: false))
        return checks
    }

    /// (a) and (d) against the paper's KV capacity and MAC utilisation.
    static func utilisationChecks(_ o: PaperStudy.Outcome) -> [Check] {
        let staticKV = o.ladders.compactMap { row($0.rows, Ladder.pimOnly[2])?.figures?.kvCapacityUtilisationFraction }
        let dpaKV = o.ladders.compactMap { row($0.rows, Ladder.pimOnly[3])?.figures?.kvCapacityUtilisationFraction }
        return [
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
    }

    /// (c) at the longest and the shortest context against the paper's scalability figures.
    static func scalingChecks(_ o: PaperStudy.Outcome) -> [Check] {
        let lol = Ladder.pimOnly[3], neu = Ladder.xpuPIM[0]
        var checks: [Check] = []
        if let million = o.contextScaling.last {
            for cent in centRungs {
                checks.append(
                    Check(
                        figure: PublishedFigures.millionOverCENT,
                        ours: "(c) at \(million.x) tokens: LoL-PIM / \(cent.label)",
                        value: speedup(million, lol, cent), isFraction: false))
            }
            checks.append(
                Check(
                    figure: PublishedFigures.millionOverNeuPIMs,
                    ours: "(c) at \(million.x) tokens: LoL-PIM / NeuPIMs-like",
                    value: speedup(million, lol, neu), isFraction: false))
            for cent in centRungs {
                checks.append(
                    Check(
                        figure: PublishedFigures.millionCENTUtilisation,
                        ours: "(c) at \(million.x) tokens: \(cent.label) MAC utilisation",
                        value: row(million.rows, cent)?.figures?.macUtilisationFraction, isFraction: true))
            }
        }
        if let short = o.contextScaling.first {
            for cent in centRungs {
                checks.append(
                    Check(
                        figure: PublishedFigures.shortOverCENT,
                        ours: "(c) at \(short.x) tokens: LoL-PIM / \(cent.label)",
                        value: speedup(short, lol, cent), isFraction: false))
            }
        }
        return checks
    }

    static func format(_ v: Double, fraction: Bool) -> String {
        fraction ? String(format: "%.1f %%", v * 100) : String(format: "%.2f×", v)
    }

    /// One file the page writes, by name.
    struct File {
        var name: String
        var text: String
    }

    /// One figure's section of the page.
    struct Section {
        var title: String
        var text: String
        var images: [String]
        var csv: String
    }

    /// The page's figures, in its order (PaperFigures.swift).
    static func figures(_ o: PaperStudy.Outcome) -> [any PaperFigure] {
        [
            LadderFigure(parts: o.ladders), SplitFigure(parts: o.ladders), ScalingFigure.memory(o.memoryScaling),
            ScalingFigure.context(o.contextScaling), MACFigure(points: o.macUtilisation),
            KVFigure(parts: o.ladders), GPUFigure(parts: o.ladders),
        ]
    }

    /// Writes everything into `directory`; returns the page's path.
    @discardableResult
    public static func write(_ o: PaperStudy.Outcome, to directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        func save(_ file: File) throws {
            try file.text.write(toFile: directory + "/" + file.name, atomically: true, encoding: .utf8)
        }
        let figures = figures(o)
        for figure in figures { try figure.files().forEach(save) }
        let checks = Self.checks(o)
        try save(File(name: "published.csv", text: publishedCSV(checks)))
        try save(File(name: "index.html", text: html(o, sections: figures.map(\.section), checks: checks)))
        return directory + "/index.html"
    }

    /// The published-against-ours table as CSV.
    static func publishedCSV(_ checks: [Check]) -> String {
        let header = [
            "published_claim", "published_low", "published_high", "up_to", "source", "lolpim_figure", "lolpim_value",
            "ratio_to_published",
        ]
        return CSVTable.encode(
            [header]
                + checks.map { c in
                    [
                        c.figure.claim, String(c.figure.low), String(c.figure.high), c.figure.isMaximum ? "yes" : "",
                        c.figure.source, c.ours, c.value.map { String(format: "%.4f", $0) } ?? "",
                        c.ratioToPublished.map { String(format: "%.3f", $0) } ?? "",
                    ]
                })
    }

    static func escape(_ s: String) -> String { SVGChart.escape(s) }

    static func html(
        _ o: PaperStudy.Outcome, sections: [Section], checks: [Check]
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
