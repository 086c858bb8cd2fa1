import Baselines
import Foundation
import PIMModule
import Pipeline
import Synchronization
import Workload

/// CENT's published table re-derived by lolpim (`lolpim cent`, issue 27): for each published row, CENT's
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
    /// Whether the runs through the pipeline charge the scores crossing a model-parallel group (`cent_score_moves`).
    public var scoreMoves: CENTScoreMoves = .free

    public init(published: [CENTPublishedRow]) { self.published = published }

    public enum Failure: Error, CustomStringConvertible {
        case unknownModel(String)
        case badSplit(model: String, devices: Int, channelsPerBlock: Int)
        case badTensorParallelSplit(model: String, devices: Int, pp: Int, tp: Int, channelsPerBlock: Int)
        public var description: String {
            switch self {
            case .unknownModel(let name):
                return "unknown model '\(name)'; CENT's are "
                    + CENTModel.all.map(\.name).joined(separator: ", ")
            case .badSplit(let model, let devices, let c):
                return "\(model) on \(devices) devices: CENT's PP split does not give \(c) channels per block"
            case .badTensorParallelSplit(let model, let devices, let pp, let tp, let c):
                return "\(model) on \(devices) devices, pp \(pp) × tp \(tp), \(c) channels per block: CENT's "
                    + "tensor-parallel rows have pp × tp = devices and 32 channels per block"
            }
        }
    }

    /// The rows of an earlier cent-table.csv whose published figures and settings (commit, rung steps, score
    /// moves) are those of this table, by `key`; a row with another header or any unreadable cell is left out.
    public func resumable(_ table: CSVTable) -> [String: Row] {
        guard table.header == Self.header else { return [:] }
        let byKey = Dictionary(published.map { (Self.key($0), $0) }, uniquingKeysWith: { a, _ in a })
        var rows: [String: Row] = [:]
        for line in table.rows {
            let c = line.cells
            guard c.count == Self.header.count, let p = byKey[c[0] + "/" + c[1] + "/" + c[2] + "/" + c[5]],
                Array(c.suffix(3)) == settings
            else { continue }
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

    /// Computes every row, taking those in `known` (`resumable`) as they are, on `workers` threads (rows are
    /// independent; what they share only saves work). `progress(done, total, row, rows so far in table order)` is
    /// called after each, one call at a time; the first error (a row's or `progress`'s) stops the others.
    public func run(
        known: [String: Row] = [:], workers: Int = 1,
        progress: @Sendable (Int, Int, Row, [Row]) throws -> Void = { _, _, _, _ in }
    ) throws -> [Row] {
        struct Shared {
            var next = 0
            var done: [Row?]
            var failure: (any Error)?
        }
        let shared = Mutex(Shared(done: Array(repeating: nil, count: published.count)))
        let reported = Mutex(())
        // Every row's run through the pipeline shares the pieces of CENT's trace the earlier rows timed.
        let caches = ProcessCaches(), store = MemoryKernelStore(), embeddings = Mutex<[String: Double]>([:])
        DispatchQueue.concurrentPerform(iterations: max(1, min(workers, published.count))) { _ in
            while true {
                let i: Int? = shared.withLock { s in
                    guard s.failure == nil, s.next < published.count else { return nil }
                    defer { s.next += 1 }
                    return s.next
                }
                guard let i else { return }
                do {
                    let p = published[i]
                    let row =
                        try known[Self.key(p)] ?? self.row(p, store: store, caches: caches, embeddings: embeddings)
                    // Reports go one at a time, each with the rows finished by then.
                    try reported.withLock { _ in
                        let rows = shared.withLock { s in
                            s.done[i] = row
                            return s.done.compactMap { $0 }
                        }
                        try progress(rows.count, published.count, row, rows)
                    }
                } catch {
                    shared.withLock { if $0.failure == nil { $0.failure = error } }
                    return
                }
            }
        }
        let outcome = shared.withLock { $0 }
        if let failure = outcome.failure { throw failure }
        return outcome.done.compactMap { $0 }
    }

    /// One published row: CENT's trace for one device step replayed, CENT's formulas, and (with `rungSteps`) the
    /// row's run through the pipeline.
    func row(
        _ p: CENTPublishedRow, store: MemoryKernelStore, caches: ProcessCaches,
        embeddings: borrowing Mutex<[String: Double]>
    ) throws -> Row {
        guard let model = CENTModel.named(p.model) else { throw Failure.unknownModel(p.model) }
        let device = try Self.device(of: p, model: model)
        let key = "\(p.model)/\(p.devices)/\(p.pp)"
        let embedding =
            embeddings.withLock { $0[key] } ?? CENTPIMLatency.embeddingMs(model: model, device: device, commit: commit)
        embeddings.withLock { $0[key] = embedding }
        let pim = CENTPIMLatency(model: model, device: device, seqLen: p.seqLen, commit: commit).milliseconds
        let cxl =
            CENTRung.isPipelineParallel(p, model: model)
            ? CENTAnalytic.cxlMs(model: model, devices: p.devices)
            : CENTAnalytic.tensorParallelCXLMs(model: model, devices: p.devices, fcDevices: p.tp)
        let acc = CENTAnalytic.accMs(model: model, seqLen: p.seqLen, blocksPerDevice: device.blocksPerDevice)
        let token = CENTAnalytic.tokenMs(model: model, pim: pim, cxl: cxl, acc: acc, embedding: embedding)
        var rung: CENTRung.Figures?
        if let steps = rungSteps {
            var r = CENTRung(row: p)
            r.steps = steps
            r.scoreMoves = scoreMoves
            rung = try r.run(store: store, caches: caches)
        }
        return Row(
            published: p, pim: pim, cxl: cxl, acc: acc, embedding: embedding, token: token,
            throughput: CENTAnalytic.throughput(pp: p.pp, tokenMs: token), rung: rung)
    }

    /// The device CENT's trace generator lays out for a published row: a pipeline-parallel row (`pp = L`, tp 1)
    /// holds `ceil(L / D)` lock-step blocks of `C` channels; any other split is a "model parallel" run over
    /// `FC_devices = tp` devices of 32 channels, `pp × tp = D` (`run_sim.py:288-305`).
    static func device(of p: CENTPublishedRow, model: CENTModel) throws -> CENTDevice {
        if CENTRung.isPipelineParallel(p, model: model) {
            guard let device = CENTDevice(pipelineParallel: model, devices: p.devices),
                device.channelsPerBlock == p.channelsPerBlock
            else { throw Failure.badSplit(model: p.model, devices: p.devices, channelsPerBlock: p.channelsPerBlock) }
            return device
        }
        guard p.pp * p.tp == p.devices, p.channelsPerBlock == 32 else {
            throw Failure.badTensorParallelSplit(
                model: p.model, devices: p.devices, pp: p.pp, tp: p.tp, channelsPerBlock: p.channelsPerBlock)
        }
        return CENTDevice(modelParallel: p.tp)
    }

    /// The settings every line of cent-table.csv ends with: the replays' commit, the rung's decode steps (0: not
    /// run) and its score moves.
    var settings: [String] { [commit.rawValue, String(rungSteps ?? 0), scoreMoves.rawValue] }

    /// The header of cent-table.csv.
    public static let header = [
        "model", "devices", "pp", "tp", "channels_per_block", "seq_len",
        "pim_ms_cent", "pim_ms_ours", "pim_ratio", "cxl_ms_cent", "cxl_ms_ours", "acc_ms_cent", "acc_ms_ours",
        "embedding_ms_cent", "embedding_ms_ours", "token_ms_cent", "token_ms_ours", "token_ratio",
        "throughput_cent", "throughput_ours", "throughput_ratio",
        "throughput_rung", "throughput_rung_ratio", "token_ms_rung", "token_rung_ratio",
        "energy_mj_cent", "energy_mj_rung", "energy_rung_ratio", "commit", "rung_steps", "score_moves",
    ]

    /// One chart per model, `cent-ratio-<model>.svg`: lolpim's throughput over CENT's against the context, one
    /// line per split for the run through lolpim's pipeline (`cent` partitioning), and one line for the port of
    /// CENT's own trace and formulas over all the model's splits (the worst ratio of the splits at each T).
    public static func charts(_ rows: [Row]) -> [(file: String, svg: String)] {
        let models = Dictionary(grouping: rows) { $0.published.model }
        return models.keys.sorted().map { model in
            let rows = models[model]!
            func ratio(_ r: Row, _ v: Double) -> Double { v / r.published.throughputTokensPerS }
            // The splits by pipeline stages, most first (CENT's own order of the pipeline-parallel row first).
            let splits = Dictionary(grouping: rows) { "\($0.published.pp) \($0.published.tp)" }
            var series: [SVGChart.Series] = []
            for key in splits.keys.sorted(by: { splits[$0]![0].published.pp > splits[$1]![0].published.pp }) {
                let group = splits[key]!.sorted { $0.published.seqLen < $1.published.seqLen }
                let p = group[0].published
                let points = group.compactMap { r in
                    r.rung.map { (Double(r.published.seqLen), ratio(r, $0.throughputTokensPerS)) }
                }
                guard !points.isEmpty else { continue }
                series.append(
                    SVGChart.Series(
                        name: "pp \(p.pp) × tp \(p.tp), C \(p.channelsPerBlock)", points: points))
            }
            let byT = Dictionary(grouping: rows) { $0.published.seqLen }
            let port = byT.keys.sorted().map { t in
                (Double(t), byT[t]!.map { r in ratio(r, r.throughput) }.min(by: { abs($0 - 1) > abs($1 - 1) })!)
            }
            series.append(SVGChart.Series(name: "port, worst split", points: port))
            let svg = SVGChart(
                title: "\(model): throughput, lolpim's pipeline (cent) and port over CENT's table",
                xLabel: "context T (tokens)",
                yLabel: "throughput ratio (lolpim / CENT)", logX: true
            ).line(series)
            return ("cent-ratio-\(model).svg", svg)
        }
    }

    /// cent-table.csv: one line per row. CENT's embedding latency is not a published column: it is what its
    /// token latency leaves once the blocks and the 0.15 ms are taken out (`run_sim.py:203`).
    public func csv(_ rows: [Row]) -> String {
        func f(_ v: Double) -> String { Self.number(v) }
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
                } ?? Array(repeating: "", count: 7)) + settings
        }
        return CSVTable.encode([Self.header] + lines)
    }
}
