/// The parts of CENT's token latency that are formulas, not traces (docs/CENT-CODE.md §4.3, §4.4, §5.1), in
/// milliseconds, for its pipeline-parallel rows.
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

    /// `vector_latency` (`cxl_latency.py:63-67`): one dim-value embedding vector to the next block over CXL,
    /// 180 ns round trip (`cxl_latency.py:4-8`) plus `ceil(2 dim / 192)` 256 B flits at `lanes` × 4 GB/s
    /// (8 GB/s halved for multicast, 9-12), with `lanes = 144 // D` (`run_sim.py:15`, 286).
    public static func cxlMs(model m: CENTModel, devices: Int) -> Double {
        let roundTripNs = 25.0 * 4 + 30 * 2 + 20
        let lanes = Double(144 / devices), bandwidth = lanes * 8 * 0.5
        let flits = (Double(m.dim) * 2 / 64 / 3).rounded(.up)
        return (roundTripNs + flits * 256 / bandwidth * 1e9 / 1024 / 1024 / 1024) / 1e6
    }

    /// `InOut_latency` (`utils.py:7`): top-k sampling on the CPU, once per token.
    public static let inOutMs = 0.15

    /// `load_data_point` (`run_sim.py:202-203`): a token passes all L blocks, then the embedding and sampling.
    public static func tokenMs(model m: CENTModel, pim: Double, cxl: Double, acc: Double, embedding: Double) -> Double {
        (pim + cxl + acc) * Double(m.layers) + embedding + inOutMs
    }

    /// `throughput = 1000 / token_latency * pp` (`run_sim.py:204`), with `pp = L` in the PP rows (298).
    public static func throughput(model m: CENTModel, tokenMs: Double) -> Double { 1000 / tokenMs * Double(m.layers) }
}
