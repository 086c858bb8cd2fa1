import PIMModule

/// The kinds of system `lolpim compare` puts side by side (docs/COMPARE.md §1).
public enum SystemKind: String, Sendable, CaseIterable {
    /// GPUs alone (`Baselines.MultiGPUSystem`).
    case gpu
    /// GPUs for the weight layers, HBM-PIM devices for attention (`Baselines.GPUPIMSystem`, AttAcc-like).
    case gpuPIM = "gpu-pim"
    /// PIM-only modules (CENT-like): lolpim runs.
    case pimOnly = "pim-only"
    /// xPU+PIM modules (NeuPIMs-like): an NPU beside PIM channels in every module; lolpim runs.
    case xpuPIM = "xpu-pim"
}

/// One PIM configuration of a ladder: a system kind with some of LoL-PIM's ideas switched on.
public struct Rung: Sendable, Equatable {
    public var name: String
    /// Short name for chart axes.
    public var label: String
    public var kind: SystemKind
    public var partitioning: AttentionPartitioning
    public var scheduling: SchedulingPolicy
    public var allocation: AllocationScheme

    /// The first rung of its ladder: none of the ideas (head-first, static scheduling, static allocation).
    public var isBaseline: Bool { partitioning == .headFirst && scheduling == .static && allocation == .static }
}

/// The two ladders: each PIM system kind without LoL-PIM's ideas, then with token-parallel partitioning (TCP),
/// dynamic command scheduling (DCS) and dynamic PIM access (DPA) added one at a time. The last rung of each is
/// LoL-PIM on that kind of system.
public enum Ladder {
    static func rungs(_ kind: SystemKind, baseline: String, top: String, topLabel: String) -> [Rung] {
        let stem = baseline.replacingOccurrences(of: "-like", with: "")
        let system = kind == .pimOnly ? " PIM-only" : " xPU+PIM"
        return [
            Rung(
                name: baseline + system, label: baseline, kind: kind,
                partitioning: .headFirst, scheduling: .static, allocation: .static),
            Rung(
                name: "\(baseline) + TCP", label: "\(stem) +TCP", kind: kind,
                partitioning: .tokenParallel, scheduling: .static, allocation: .static),
            Rung(
                name: "\(baseline) + TCP + DCS", label: "\(stem) +DCS", kind: kind,
                partitioning: .tokenParallel, scheduling: .dcs, allocation: .static),
            Rung(
                name: top, label: topLabel, kind: kind,
                partitioning: .tokenParallel, scheduling: .dcs, allocation: .dpa),
        ]
    }

    /// PIM-only modules: CENT-like (head-first, as the LoL-PIM paper describes it) → + TCP → + DCS → + DPA =
    /// LoL-PIM.
    public static let pimOnly = rungs(.pimOnly, baseline: "CENT-like", top: "LoL-PIM (PIM-only)", topLabel: "LoL-PIM")
    /// xPU+PIM modules: NeuPIMs-like → + TCP → + DCS → + DPA = LoL-PIM on xPU+PIM.
    public static let xpuPIM = rungs(
        .xpuPIM, baseline: "NeuPIMs-like", top: "LoL-PIM on xPU+PIM",
        topLabel: "LoL-PIM xPU")
    /// CENT as its own simulator builds it (`fidelity.partitioning: cent`, docs/MAPPING.md §13), beside the
    /// CENT-like rung that follows the LoL-PIM paper's description (head-first attention).
    public static let centCode = Rung(
        name: "CENT (its code's mapping)", label: "CENT code", kind: .pimOnly, partitioning: .cent,
        scheduling: .static, allocation: .static)
    /// Both ladders, PIM-only first.
    public static let all = pimOnly + xpuPIM
    /// What `lolpim compare` runs: CENT's own rung, then both ladders.
    public static let compared = [centCode] + all
}
