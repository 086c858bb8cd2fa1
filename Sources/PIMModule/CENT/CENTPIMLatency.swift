/// CENT's "PIM latency" of one lock-step device step, as lolpim reproduces it: CENT's trace for the step
/// (`CENTProgram`) replayed on lolpim's reproduction of the public AiM simulator (`AiMTraceReplay`, module
/// cent-32ch: GDDR6-AiM timing, 32 channels of 16 banks, no refresh, since that simulator never refreshes),
/// and its `memory_system_cycles` turned into milliseconds at 2 GHz as `cent_power_calculator.py:130-181`
/// does (`latency = cycles * 1000 / 2e9`).
public struct CENTPIMLatency: Sendable {
    public var model: CENTModel
    public var device: CENTDevice
    public var seqLen: Int
    /// The replay's report: cycles, commands and the decoder's waits.
    public var report: AiMTraceReplay.Report

    /// CENT's clock: its simulator runs the GDDR6-AiM preset at tCK 0.5 ns (docs/CENT-CODE.md, timing table).
    public static let cyclesPerMs = 2e6

    /// Replays the step of `model` on `device` with `seqLen` tokens in the context.
    public init(
        model: CENTModel, device: CENTDevice, seqLen: Int, commit: AiMSimulatorCommit = .centPinned
    ) {
        self.model = model
        self.device = device
        self.seqLen = seqLen
        let program = CENTProgram(model: model, device: device, seqLen: seqLen).program
        report = AiMTraceReplay(module: .cent32, refresh: false, commit: commit).run(program)
    }

    public var cycles: Int64 { report.cycles }
    public var milliseconds: Double { Double(report.cycles) / Self.cyclesPerMs }

    /// CENT's "Embedding latency" (`run_sim.py:263-282`, `trace/compile.py`: cycles / 2e6): the embedding
    /// trace (`CENTProgram.embeddingInstructions`, generated at `--seqlen` 4096, `run_sim.py:63`) replayed.
    public static func embeddingMs(
        model: CENTModel, device: CENTDevice, commit: AiMSimulatorCommit = .centPinned
    ) -> Double {
        let program = CENTProgram(model: model, device: device, seqLen: 4096).embeddingInstructions
        let report = AiMTraceReplay(module: .cent32, refresh: false, commit: commit).run(program)
        return Double(report.cycles) / cyclesPerMs
    }
}
