import Workload

/// How CENT's simulator places a model's transformer blocks on its devices (`run_sim.py --model_parallel`, or
/// not; docs/CENT-CODE.md §4.5), the `cent` partitioning's `fidelity.cent_mode` (docs/MAPPING.md §13).
public enum CENTMode: String, Sendable, Codable, CaseIterable {
    /// `ceil(L / D)` blocks per device, each on its own `32 // blocks` channels, running one command stream in
    /// lock-step, one request each (`run_sim.py:58-59, 298-305`).
    case pipelineParallel = "pipeline-parallel"
    /// Every block on all 32 channels of each of its `FC_devices` devices (the tensor-parallel group), a device's
    /// blocks one after the other for one request; every FC layer's outputs are gathered from the group and
    /// broadcast again over CXL (`run_sim.py:64-78, 288-296`, `cxl_latency.py:15-38`).
    case modelParallel = "model-parallel"

    /// CENT's mode for a stage of `tp` modules when the topology names none: model-parallel for a group.
    public static func `default`(tp: Int) -> CENTMode { tp > 1 ? .modelParallel : .pipelineParallel }
}

/// The link a `cent` model-parallel group's gathers and broadcasts cross (`links.tp`): bytes per second each way
/// and the latency of one transfer, which CENT charges as a round trip (`cxl_latency.py:4-8`).
public struct CENTLink: Sendable, Hashable {
    public var bytesPerSecond: Double
    public var latencyPs: Picoseconds

    public init(bytesPerSecond: Double, latencyPs: Picoseconds) {
        self.bytesPerSecond = bytesPerSecond
        self.latencyPs = latencyPs
    }

    /// `flits` 256 B PBR flits after the link's latency: one CENT transfer (`cxl_latency.py:26-34`).
    func transferPs(flits: Double) -> Picoseconds {
        latencyPs + Picoseconds((flits * 256 / bytesPerSecond * 1e12).rounded())
    }

    /// A gather and a broadcast of `values` BF16 values over `f` devices: the other f − 1 shares back to back,
    /// then one multicast of the whole vector, in CENT's 64 B messages, three per flit (`cxl_latency.py:23-34`).
    func pairPs(values: Double, fcDevices f: Int) -> Picoseconds {
        transferPs(flits: CENTAnalytic.gatherFlits(values: values, fcDevices: f))
            + transferPs(flits: CENTAnalytic.flits(values: values))
    }

    /// The gathers and broadcasts of one block over a group of `fcDevices` (`CENTAnalytic.blockTransferPairs`), each
    /// with the operator whose outputs it moves.
    func blockTransfers(model m: CENTModel, fcDevices f: Int) -> [(OpKind, Picoseconds)] {
        CENTAnalytic.blockTransferPairs(model: m).map { ($0.kind, pairPs(values: $0.values, fcDevices: f)) }
    }

    /// The score moves CENT's code leaves out (`fidelity.cent_score_moves: costed`, docs/MAPPING.md §13): QKᵀ
    /// leaves each of the f devices the scores of its T / f tokens for all H heads, but the softmax and SV run
    /// whole on every device, so the other f − 1 shares are gathered and the H · T probabilities broadcast, in
    /// CENT's own transfer terms. Nothing moves with one device.
    func scoreTransfers(model m: CENTModel, fcDevices f: Int, seqLen: Int) -> Picoseconds {
        guard f > 1 else { return 0 }
        return pairPs(values: Double(m.heads * seqLen), fcDevices: f)
    }
}

/// Whether the `cent` rung's model-parallel mode charges the scores and probabilities that cross the group's
/// devices, which CENT's code does not (docs/CENT-CODE.md §4.7).
public enum CENTScoreMoves: String, Sendable, Codable, CaseIterable {
    /// As CENT's code: no cost (`llama_latency` has no term for them).
    case free
    /// Gathered and broadcast over the group's link (`CENTLink.scoreTransfers`).
    case costed
}
