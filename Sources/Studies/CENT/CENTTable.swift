import Baselines
import Foundation
import PIMModule
import Workload

/// CENT's published PP table re-derived by lolpim (`lolpim cent`, issue 27): for each published row, CENT's
/// own trace for one device step replayed on lolpim's AiM simulator reproduction (PIM latency), its embedding
/// trace replayed once per model, and CENT's formulas for the Acc and CXL latency, token latency and
/// throughput (Baselines/CENT), written beside CENT's figures with the ratios ours / CENT.
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

    /// Computes every row in order; `progress(done, total, row)` is called after each.
    public func run(progress: (Int, Int, Row) -> Void = { _, _, _ in }) throws -> [Row] {
        var embeddings: [String: Double] = [:]
        var rows: [Row] = []
        for (i, p) in published.enumerated() {
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
            progress(i + 1, published.count, row)
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

    /// cent-table.csv: one line per row. CENT's embedding latency is not a published column: it is what its
    /// token latency leaves once the blocks and the 0.15 ms are taken out (`run_sim.py:203`).
    public static func csv(_ rows: [Row]) -> String {
        func f(_ v: Double) -> String { String(format: "%.9g", v) }
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
