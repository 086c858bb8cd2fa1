import Pipeline
import PIMModule
import Yams

/// One configuration a PIM row of `lolpim compare` can run at: the tensor × pipeline split, the micro-batch
/// count and, on xPU+PIM modules, the sub-batches NeuPIMs interleaves.
public struct RunConfiguration: Sendable, Hashable, CustomStringConvertible {
    public var tp: Int
    public var pp: Int
    public var microBatches: Int
    /// nil on PIM-only modules (no NPU to interleave with).
    public var subBatches: Int?

    public var description: String {
        "tp \(tp) × pp \(pp), \(microBatches) micro-batch\(microBatches == 1 ? "" : "es")"
            + (subBatches.map { ", \($0) sub-batch\($0 == 1 ? "" : "es")" } ?? "")
    }

    /// The topology fields that set it, in `ConfigurationSearch.fields` order.
    var fields: [Node?] {
        ParallelismPlanner.fields(tp: tp, pp: pp) + [Node(String(microBatches)), subBatches.map { Node(String($0)) }]
    }
}

/// How a PIM row looks for its best configuration (docs/COMPARE.md §2).
public enum SearchMode: String, Sendable, CaseIterable {
    /// One knob at a time: every split at micro-batches = pipeline depth; then every micro-batch count at the
    /// best split; then (xPU+PIM at tp 1) every sub-batch count at the best of those.
    case staged
    /// Every split × micro-batch count × sub-batch count.
    case exhaustive
}

/// The configurations of one rung's system, stage by stage. Pure: which configuration won a stage is the
/// caller's input, so a resumed comparison proposes exactly the same points.
public struct ConfigurationSearch: Sendable {
    /// The topology with the rung's system (modules, kind, fidelity) applied.
    public let topology: Topology
    /// Largest tensor-parallel degree tried.
    public let maxTP: Int

    /// The topology fields a configuration sets.
    static let fields = [
        "parallelism.tp", "parallelism.pp", "parallelism.layers_per_stage",
        "parallelism.micro_batches", "cluster.sub_batches",
    ]
    /// Sub-batch counts tried on xPU+PIM modules (NeuPIMs interleaves 2).
    public static let subBatchCounts = [1, 2, 4]

    public init(topology: Topology, maxTP: Int) {
        self.topology = topology
        self.maxTP = maxTP
    }

    var isXPU: Bool { topology.cluster.module.npu != nil }
    var batch: Int { topology.workload.batchSize }
    var defaultSubBatches: Int? { topology.cluster.module.npu?.subBatches }

    /// Every split the planner accepts with tp ≤ `maxTP`, tp ascending. Under the `cent` partitioning only the
    /// smallest tp that has one: CENT's pipeline-parallel mode (tp 1, the one its paper leads with), or its
    /// model-parallel mode at the fewest devices per block where a request does not fit otherwise (COMPARE.md §1).
    public var splits: [ParallelismPlanner.Candidate] {
        let valid = ParallelismPlanner.candidates(for: topology).filter { $0.isValid && $0.tp <= maxTP }
        guard topology.fidelity.partitioning == .cent, let smallest = valid.map(\.tp).min() else { return valid }
        return valid.filter { $0.tp == smallest }
    }

    /// Why no split can run (the planner's first reason), when none can.
    public var problem: String? {
        guard splits.isEmpty else { return nil }
        let all = ParallelismPlanner.candidates(for: topology)
        return all.first { $0.tp <= maxTP }?.problem ?? all.first?.problem ?? "no split of the modules"
    }

    /// Micro-batch counts for `pp` stages: the pipeline depth, doubling, and the batch itself (all ≤ the
    /// batch; just the batch when it is smaller than the depth).
    public func microBatchCounts(pp: Int) -> [Int] {
        guard pp < batch else { return [batch] }
        var counts: [Int] = []
        var m = pp
        while m < batch {
            counts.append(m)
            m *= 2
        }
        return counts + [batch]
    }

    /// Stage 1: every split, at micro-batches = its pipeline depth (or the batch) and the default sub-batches.
    public func splitStage() -> [RunConfiguration] {
        splits.map {
            RunConfiguration(tp: $0.tp, pp: $0.pp, microBatches: min($0.pp, batch), subBatches: defaultSubBatches)
        }
    }

    /// Stage 2: every micro-batch count at the best split.
    public func microBatchStage(best: RunConfiguration) -> [RunConfiguration] {
        microBatchCounts(pp: best.pp).map { m in
            var c = best
            c.microBatches = m
            return c
        }
    }

    /// Stage 3: every sub-batch count at the best configuration so far, on xPU+PIM modules at tp 1 (with tp > 1
    /// the groups do not interleave, so the count changes nothing).
    public func subBatchStage(best: RunConfiguration) -> [RunConfiguration] {
        guard isXPU, best.tp == 1 else { return [] }
        return Self.subBatchCounts.map { s in
            var c = best
            c.subBatches = s
            return c
        }
    }

    /// The configuration whose run is the same simulation as `c`'s (docs/COMPARE.md §2, "Runs that are the
    /// same"): `c` itself, or, with continuous batching, `c` at the most requests its split can hold at once, K,
    /// when its micro-batch count is above K. K is the batch, or under static allocation fewer where a stage's KV
    /// space holds fewer T_max reservations (every request reserves T_max); at most K are held, and the scheduler
    /// puts each one admitted into the least loaded micro-batch not in flight, the lowest-numbered among equals
    /// (`ContinuousBatching`). With at least K micro-batches that is always an empty one numbered below K (one the
    /// request before it left, or one never used): every micro-batch holds at most one request and only the first
    /// K are ever used, so the runs at any count from K up send the same micro-batches at the same times.
    public func sameRun(as c: RunConfiguration) -> RunConfiguration {
        guard let held = heldAtMost(tp: c.tp), c.microBatches > held else { return c }
        var same = c
        same.microBatches = held
        return same
    }

    /// The most requests a split can hold at once with continuous batching: the batch, or under static allocation
    /// fewer where a stage's KV space holds fewer T_max reservations. nil with any other batching.
    func heldAtMost(tp: Int) -> Int? {
        let w = topology.workload
        guard w.batching == .continuous else { return nil }
        // DPA admits while the batch has room and the modules have free chunks: never more than the batch.
        guard w.allocation == .static else { return w.batchSize }
        guard let plan = try? PipelinePlan(topology: ParallelismPlanner.split(topology, tp: tp)) else { return nil }
        let held = plan.stages.indices.compactMap { (plan.allocator(stage: $0) as? StaticKVAllocator)?.maxRequests }
        guard held.count == plan.stages.count else { return nil }
        return min(w.batchSize, held.min() ?? w.batchSize)
    }

    /// Every split × micro-batch count × (on xPU+PIM) sub-batch count.
    public func exhaustive() -> [RunConfiguration] {
        splits.flatMap { split in
            microBatchCounts(pp: split.pp).flatMap { m in
                (isXPU ? Self.subBatchCounts.map(Optional.some) : [nil]).map { s in
                    RunConfiguration(tp: split.tp, pp: split.pp, microBatches: m, subBatches: s)
                }
            }
        }
    }
}
