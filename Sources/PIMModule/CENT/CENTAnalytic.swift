import Workload

/// The parts of CENT's token latency that are formulas, not traces (docs/CENT-CODE.md §4.3, §4.4, §5.1), in
/// milliseconds.
public enum CENTAnalytic {
    /// `KILO`, `FREQ` (`cent_power_calculator.py:5-8`): the near-memory units run at 2 GHz.
    static let cyclesPerMs = 2e9 / 1000
    /// `CH_PER_DV` (`cent_power_calculator.py:10`) and `args.num_channels` (`run_sim.py:13`).
    static let channels = 32.0
    /// `SB_RD_CYCLE`, `SB_WR_CYCLE`, `EXP_LANE_CYCLE`, `RV_RMSNorm_CYCLE`, `RV_COUNT`
    /// (`cent_power_calculator.py:93-98`).
    static let sbRead = 1.0, sbWrite = 1.0, expLane = 11.0, rvRMSNorm = 26.0, rvCount = 8.0
    /// `RV_ROTEmbed_CYCLE = 3 / RV_COUNT` (99), `RV_SFT_CYCLE_PIPELINE = 16 SB_WR + 2 / RV_COUNT + SB_RD` (100).
    static let rvRotEmbed = 3.0 / rvCount, rvSoftmaxPipeline = 16 * sbWrite + 2 / rvCount + sbRead
    /// `ACCEL_CYCLE` (104-105): 32 accelerators pipelined, EXP and VEC.
    static let accelEXP = channels * sbRead + expLane + sbWrite
    static let accelVEC = channels * 2 * sbRead + 1 + sbWrite

    /// The three near-memory terms of `calculate_acc_latency` (`run_sim.py:166-180`) for one block, in ms: two
    /// RMSNorms; the softmax's exp, sums and per-head steps over all H heads and T tokens; the rotary embedding on
    /// the RISC-V cores (`gqa_factor`, `utils.py:9`, is H / Hkv).
    public static func accParts(model m: CENTModel, seqLen: Int) -> (rmsNorm: Double, softmax: Double, rotary: Double) {
        let dim = Double(m.dim), heads = Double(m.heads), t = Double(seqLen)
        let rmsNorm = 2 * (dim / 16 / 16 / channels * accelVEC + sbRead + sbWrite + 1 + rvRMSNorm) / cyclesPerMs
        var softmax = t * heads / 16 / channels * accelEXP + t * heads / 16 / channels * accelVEC
        softmax += heads * sbRead + heads * rvSoftmaxPipeline
        let gqa = 1 + 1 / Double(m.heads / m.kvHeads)
        let rotary = gqa * dim * rvRotEmbed / cyclesPerMs
        return (rmsNorm, softmax / cyclesPerMs, rotary)
    }

    /// `calculate_acc_latency` times blocks per device (`run_sim.py:201`): the device's blocks take turns on the
    /// near-memory units.
    public static func accMs(model m: CENTModel, seqLen: Int, blocksPerDevice: Int) -> Double {
        let p = accParts(model: m, seqLen: seqLen)
        return (p.rmsNorm + p.softmax + p.rotary) * Double(blocksPerDevice)
    }

    /// `one_hop_round_trip_latency` (`cxl_latency.py:4-8`): 25 ns per CXL port × 4, 30 ns of PCIe × 2 and a 20 ns
    /// switch, 180 ns (`MULTICAST` doubles the PCIe latency only after this sum, lines 9-12, so it stays 180).
    static let roundTripNs = 25.0 * 4 + 30 * 2 + 20

    /// One transfer of `flits` 256 B PBR flits from a device with `lanes` PCIe lanes at 4 GB/s each (8 GB/s halved
    /// for multicast, `cxl_latency.py:9-12`), in ms: the round trip plus the flits at the device's bandwidth.
    static func transferMs(flits: Double, lanes: Int) -> Double {
        let bandwidth = Double(lanes) * 8 * 0.5
        return (roundTripNs + flits * 256 / bandwidth * 1e9 / 1024 / 1024 / 1024) / 1e6
    }

    /// The 256 B flits `values` BF16 values take: 64 B messages, 3 per flit (`cxl_latency.py:23`).
    static func flits(values: Double) -> Double { (values * 2 / 64 / 3).rounded(.up) }

    /// `PCIE_lanes // num_devices` (`run_sim.py:15`, 286): CENT's 144 lanes shared by the devices.
    public static func lanes(devices: Int) -> Int { 144 / devices }

    /// `vector_latency` (`cxl_latency.py:63-67`): one dim-value embedding vector to the next block over CXL (the
    /// pipeline-parallel rows' CXL latency).
    public static func cxlMs(model m: CENTModel, devices: Int) -> Double {
        transferMs(flits: flits(values: Double(m.dim)), lanes: lanes(devices: devices))
    }

    /// The gather-and-broadcast pairs of one block in CENT's tensor-parallel rows (`llama_latency`,
    /// `cxl_latency.py:15-38`): every FC layer's outputs, split by rows over the devices, are gathered and broadcast
    /// again; five hidden-sized pairs (Q, K, V, O, w2, all counted at dim values) and one FFN-sized pair (w1 and w3,
    /// line 36), each with the operator whose outputs it moves. It has no term for the scores or probabilities that
    /// QKᵀ and SV would move between devices (docs/CENT-CODE.md §4.7).
    static func blockTransferPairs(model m: CENTModel) -> [(kind: OpKind, values: Double)] {
        let dim = Double(m.dim)
        return [
            (.qkvProjection, dim), (.qkvProjection, dim), (.qkvProjection, dim), (.outputProjection, dim),
            (.ffn, Double(m.ffn)), (.ffn, dim),
        ]
    }

    /// The flits of a gather of `values` split over `f` devices: the other f − 1 shares, each
    /// `ceil(values / f · 2 / 192)` flits (`cxl_latency.py:29-34`).
    static func gatherFlits(values: Double, fcDevices f: Int) -> Double {
        flits(values: values / Double(f)) * Double(f - 1)
    }

    /// `llama_latency` (`cxl_latency.py:15-38`), the tensor-parallel rows' CXL latency per block: a gather and a
    /// broadcast (one multicast of the whole vector) for each of `blockTransferPairs`.
    public static func tensorParallelCXLMs(model m: CENTModel, devices: Int, fcDevices f: Int) -> Double {
        let lanes = lanes(devices: devices)
        return blockTransferPairs(model: m).reduce(0) { sum, pair in
            sum + transferMs(flits: gatherFlits(values: pair.values, fcDevices: f), lanes: lanes)
                + transferMs(flits: flits(values: pair.values), lanes: lanes)
        }
    }

    /// `InOut_latency` (`utils.py:7`): top-k sampling on the CPU, once per token.
    public static let inOutMs = 0.15

    /// `load_data_point` (`run_sim.py:202-203`): a token passes all L blocks, then the embedding and sampling.
    public static func tokenMs(model m: CENTModel, pim: Double, cxl: Double, acc: Double, embedding: Double) -> Double {
        (pim + cxl + acc) * Double(m.layers) + embedding + inOutMs
    }

    /// `throughput = 1000 / token_latency * pp` (`run_sim.py:204`): `pp = L` in the PP rows (298), `D / f` in the
    /// TP rows (293), one request in flight per pipeline stage.
    public static func throughput(pp: Int, tokenMs: Double) -> Double { 1000 / tokenMs * Double(pp) }
}
