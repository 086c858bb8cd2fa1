import Baselines
import Foundation
import PIMModule
import Workload

/// CENT's published PP table re-derived by lolpim (`lolpim cent`, issue 27): for each published row, CENT's
/// own trace for one device step replayed on lolpim's AiM simulator reproduction (PIM latency), its embedding
/// trace replayed once per model, and CENT's formulas for the Acc and CXL latency, token latency and
/// throughput (PIMModule/CENT), written beside CENT's figures with the ratios ours / CENT.
public struct CENTTable: Sendable {
    /// One row: CENT's published figures and ours.
    public struct Row: Sendable {
        public var published: CENTPublishedRow
        public var pim: Double
        public var cxl: Double
        public var acc: Double
        public var embedding: Double
        public var token: Double
        public var throughput: Double
        /// The row run through lolpim's pipeline with `fidelity.partitioning: cent` (`CENTRung`); nil when the
        /// table was made without it.
        public var rung: CENTRung.Figures?
    }

    public var published: [CENTPublishedRow]
    /// The simulator commit whose timing rules the replays follow (CENT ran `.centPinned`).
    public var commit: AiMSimulatorCommit = .centPinned
    /// Whether each row also runs through lolpim's pipeline (`CENTRung`), and with how many decode steps.
    public var rungSteps: Int? = 48

    public init(published: [CENTPublishedRow]) { self.published = published }

    public enum Failure: Error, CustomStringConvertible {
        case unknownModel(String)
        case badSplit(model: String, devices: Int, channelsPerBlock: Int)
        public var description: String {
            switch self {
            case .unknownModel(let name):
                return "unknown model '\(name)'; CENT's are "
                    + CENTModel.all.map(\.name).joined(separator: ", ")
            case .badSplit(let model, let devices, let c):
                return "\(model) on \(devices) devices: CENT's PP split does not give \(c) channels per block"
            }
        }
    }

    /// The rows of an earlier cent-table.csv whose published figures and settings are those of this table (a run
    /// with the same rung steps), by `key`; a row with another header or any unreadable cell is left out.
    public func resumable(_ table: CSVTable) -> [String: Row] {
        guard table.header == Self.header else { return [:] }
        let byKey = Dictionary(published.map { (Self.key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [String: Row] = [:]
        for line in table.rows {
            let c = line.cells
            guard c.count == Self.header.count, let p = byKey[c[0] + "/" + c[1] + "/" + c[2] + "/" + c[5]] else {
                continue
            }
            let v = c.map { Double($0) }
            guard let pim = v[7], let cxl = v[10], let acc = v[12], let emb = v[14], let token = v[16],
                let throughput = v[19], c[9] == Self.number(p.cxl)
            else { continue }
            var rung: CENTRung.Figures?
            if rungSteps != nil {
                guard let t = v[21], let ms = v[23], let e = v[26] else { continue }
                rung = CENTRung.Figures(throughputTokensPerS: t, tokenMs: ms, energyPerTokenMJ: e)
            } else if !c[21].isEmpty {
                continue
            }
            rows[Self.key(p)] = Row(
                published: p, pim: pim, cxl: cxl, acc: acc, embedding: emb, token: token, throughput: throughput,
                rung: rung)
        }
        return rows
    }

    /// A published row's identity: model, devices, pp, T.
    static func key(_ p: CENTPublishedRow) -> String { "\(p.model)/\(p.devices)/\(p.pp)/\(p.seqLen)" }

    static func number(_ v: Double) -> String { String(format: "%.9g", v) }

    /// Computes every row in order, taking those in `known` (`resumable`) as they are; `progress(done, total,
    /// row, rows so far)` is called after each.
    public func run(
        known: [String: Row] = [:], progress: (Int, Int, Row, [Row]) throws -> Void = { _, _, _, _ in }
    ) throws -> [Row] {
        var embeddings: [String: Double] = [:]
        var rows: [Row] = []
        for (i, p) in published.enumerated() {
            if let row = known[Self.key(p)] {
                rows.append(row)
                try progress(i + 1, published.count, row, rows)
                continue
            }
            guard let model = CENTModel.named(p.model) else { throw Failure.unknownModel(p.model) }
            guard let device = CENTDevice(pipelineParallel: model, devices: p.devices),
                device.channelsPerBlock == p.channelsPerBlock
            else { throw Failure.badSplit(model: p.model, devices: p.devices, channelsPerBlock: p.channelsPerBlock) }
            let key = "\(p.model)/\(p.devices)"
            let embedding =
                embeddings[key] ?? CENTPIMLatency.embeddingMs(model: model, device: device, commit: commit)
            embeddings[key] = embedding
            let pim = CENTPIMLatency(model: model, device: device, seqLen: p.seqLen, commit: commit).milliseconds
            let cxl = CENTAnalytic.cxlMs(model: model, devices: p.devices)
            let acc = CENTAnalytic.accMs(model: model, seqLen: p.seqLen, blocksPerDevice: device.blocksPerDevice)
            let token = CENTAnalytic.tokenMs(model: model, pim: pim, cxl: cxl, acc: acc, embedding: embedding)
            var rung: CENTRung.Figures?
            if let steps = rungSteps {
                var r = CENTRung(row: p)
                r.steps = steps
                rung = try r.run()
            }
            let row = Row(
                published: p, pim: pim, cxl: cxl, acc: acc, embedding: embedding, token: token,
                throughput: CENTAnalytic.throughput(model: model, tokenMs: token), rung: rung)
            rows.append(row)
            try progress(i + 1, published.count, row, rows)
        }
        return rows
    }

    /// The header of cent-table.csv.
    public static let header = [
        "model", "devices", "pp", "tp", "channels_per_block", "seq_len",
        "pim_ms_cent", "pim_ms_ours", "pim_ratio", "cxl_ms_cent", "cxl_ms_ours", "acc_ms_cent", "acc_ms_ours",
        "embedding_ms_cent", "embedding_ms_ours", "token_ms_cent", "token_ms_ours", "token_ratio",
        "throughput_cent", "throughput_ours", "throughput_ratio",
        "throughput_rung", "throughput_rung_ratio", "token_ms_rung", "token_rung_ratio",
        "energy_mj_cent", "energy_mj_rung", "energy_rung_ratio",
    ]

    /// cent-ratio.svg: lolpim's throughput over CENT's against the context, one line per model and split for
    /// the port of CENT's own formulas and one for the run through lolpim's pipeline (`cent` partitioning).
    public static func chart(_ rows: [Row]) -> String {
        var series: [SVGChart.Series] = []
        let groups = Dictionary(grouping: rows) {
            "\($0.published.model) pp \($0.published.pp) C=\($0.published.channelsPerBlock)"
        }
        for name in groups.keys.sorted() {
            let group = groups[name]!.sorted { $0.published.seqLen < $1.published.seqLen }
            series.append(
                SVGChart.Series(
                    name: "\(name), port",
                    points: group.map {
                        (Double($0.published.seqLen), $0.throughput / $0.published.throughputTokensPerS)
                    }))
            let runs = group.compactMap { r in
                r.rung.map { (Double(r.published.seqLen), $0.throughputTokensPerS / r.published.throughputTokensPerS) }
            }
            if !runs.isEmpty { series.append(SVGChart.Series(name: "\(name), pipeline (cent)", points: runs)) }
        }
        return SVGChart(
            title: "Throughput, lolpim over CENT's published table", xLabel: "context T (tokens)",
            yLabel: "throughput ratio (lolpim / CENT)", logX: true
        ).line(series)
    }

    /// cent-table.csv: one line per row. CENT's embedding latency is not a published column: it is what its
    /// token latency leaves once the blocks and the 0.15 ms are taken out (`run_sim.py:203`).
    public static func csv(_ rows: [Row]) -> String {
        func f(_ v: Double) -> String { number(v) }
        let lines = rows.map { r -> [String] in
            let p = r.published
            let layers = Double(CENTModel.named(p.model)?.layers ?? 0)
            let embeddingCENT = p.token - (p.pim + p.cxl + p.acc) * layers - CENTAnalytic.inOutMs
            return [
                p.model, String(p.devices), String(p.pp), String(p.tp), String(p.channelsPerBlock), String(p.seqLen),
                f(p.pim), f(r.pim), f(r.pim / p.pim), f(p.cxl), f(r.cxl), f(p.acc), f(r.acc),
                f(embeddingCENT), f(r.embedding), f(p.token), f(r.token), f(r.token / p.token),
                f(p.throughputTokensPerS), f(r.throughput), f(r.throughput / p.throughputTokensPerS),
            ]
                + (r.rung.map { g in
                    [
                        f(g.throughputTokensPerS), f(g.throughputTokensPerS / p.throughputTokensPerS), f(g.tokenMs),
                        f(g.tokenMs / p.token), f(p.tokenEnergyMJ), f(g.energyPerTokenMJ),
                        f(g.energyPerTokenMJ / p.tokenEnergyMJ),
                    ]
                } ?? Array(repeating: "", count: 7))
        }
        return CSVTable.encode([header] + lines)
    }
}
