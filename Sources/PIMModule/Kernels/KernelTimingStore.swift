/// Somewhere kernel timings outlive one `KernelTimer`: every worker of a run and every later run, sweep and
/// compare can reuse what one of them simulated. `KernelTimer` asks it before simulating a kernel it has not
/// met in this process, and tells it every kernel it had to simulate. Implementations live outside this pure
/// layer (`SQLiteKernelStore` in Cluster keeps them in a file); a store that answers anything other than
/// what the timer would compute breaks the simulator's results, so an implementation must return a timing
/// exactly as it was recorded, or nothing.
public protocol KernelTimingStore: Sendable {
    /// The timing recorded under `key`, or nil (the timer then simulates and records).
    func timing(_ key: KernelKey) -> KernelTiming?
    /// Records a timing the timer simulated.
    func record(_ key: KernelKey, _ timing: KernelTiming)
}

/// What decides one kernel's timing, as two texts: the model context (everything a `KernelTimer` is built
/// from: the model version, the module preset's fields and timing parameters, the derived timing table, the
/// scheduling policy, output-buffer entries, the block threshold, refresh) and the kernel (its shape and
/// mapping: the GEMV shape, or the attention units and their partitioning). A store keys on the two texts
/// themselves.
public struct KernelKey: Sendable, Hashable {
    public var context: String
    public var kernel: String

    public init(context: String, kernel: String) {
        self.context = context
        self.kernel = kernel
    }
}

extension KernelTimer {
    /// The version of the kernel timing model. Bump it whenever a change to lowering, scheduling, the
    /// controller models, block decomposition or refresh accounting can change any kernel's timing: stores
    /// then miss on every kernel timed by an older model instead of answering with stale timings.
    public static let modelVersion = 1

    /// The model context of a timer's kernels (see `KernelKey`): one line per ingredient, in a fixed order.
    static func storeContext(
        module m: ModuleConfig, policy: SchedulingPolicy, table: TimingTable,
        lowering: GEMVLowering, blockThreshold: Int64, refresh: Bool
    ) -> String {
        var lines = [
            "model \(modelVersion)", "policy \(policy.rawValue)", "obuf \(lowering.obufEntries)",
            "gb \(lowering.gbEntries)",
            "block-threshold \(blockThreshold)", "refresh \(refresh)",
        ]
        lines.append(
            "module \(m.preset) channels \(m.channels) banks \(m.banksPerChannel) bank-bytes \(m.bankBytes) "
                + "row-bytes \(m.rowBytes) column-bytes \(m.columnBytes) macs \(m.macsPerColumn) "
                + "tck-ps \(m.tCKps)")
        lines.append("timing \(m.timing)")
        lines.append("table banks \(table.banks) per-group \(table.banksPerGroup) completion \(table.completion)")
        lines += table.rules.map { "rule \($0.preceding) \($0.following) \($0.scope) \($0.cycles)" }
        return lines.joined(separator: "\n")
    }

    /// The store key of a GEMV kernel (its canonical shape).
    func storeKey(_ shape: GEMVShape) -> KernelKey {
        KernelKey(context: storeContext, kernel: "gemv \(shape.rows)x\(shape.columns)x\(shape.batch)")
    }

    /// The store key of a block sample's refresh-free timing in one loop order (`KernelTimer.sampleTiming`).
    func sampleStoreKey(_ shape: GEMVShape, order: LoopOrder) -> KernelKey {
        KernelKey(
            context: storeContext,
            kernel: "sample \(shape.rows)x\(shape.columns)x\(shape.batch) \(order.rawValue)")
    }

    /// The store key of a sequence of static attention units: their time alone, replayed in one piece, or
    /// (`boundary`, two units) what the second costs after the first.
    func storeKey(_ units: [AttentionProgram.Unit], program: AttentionProgram, boundary: Bool) -> KernelKey {
        // Channels in order, runs of equal GEMVs as "count*shape" ("-": idle), e.g. "31*64x128x4,1*48x128x4".
        let text = units.map { unit in
            var runs: [(shape: GEMVShape?, count: Int)] = []
            for shape in unit.shapes {
                if let last = runs.last, last.shape == shape {
                    runs[runs.count - 1].count += 1
                } else {
                    runs.append((shape, 1))
                }
            }
            let shapes = runs.map { "\($0.count)*" + ($0.shape.map { "\($0.rows)x\($0.columns)x\($0.batch)" } ?? "-") }
            return shapes.joined(separator: ",") + (unit.broadcastInput ? " broadcast" : "")
                + (unit.order.map { " \($0.rawValue)" } ?? "")
        }
        return KernelKey(
            context: storeContext,
            kernel: (boundary ? "boundary " : "unit ")
                + "\(program.mapping.name) " + text.joined(separator: " | "))
    }
}
