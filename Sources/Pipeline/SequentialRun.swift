import PIMModule

/// The whole simulation in one thread, without processes or sockets: micro-batches go through the stages
/// in the order the coordinator sends them, which is exactly the order every FIFO stage of the distributed
/// run sees. Its results are the reference the distributed run must reproduce byte for byte; it also serves
/// tests of batching and allocation policies.
public struct SequentialRun {
    public let plan: PipelinePlan
    /// Where kernel timings are looked up (default: one store in memory that every stage shares).
    public let store: any KernelTimingStore
    /// What the stages share in this process; results never depend on it (default: fresh for the run).
    public let caches: ProcessCaches

    /// A run that shares `caches` with others (e.g. one table's rows) skips the timings they made.
    public init(plan: PipelinePlan, store: (any KernelTimingStore)? = nil, caches: ProcessCaches = ProcessCaches()) {
        self.plan = plan
        self.store = store ?? MemoryKernelStore()
        self.caches = caches
    }

    public struct Outcome {
        public var simulated: SimulatedResults
        public var scheduler: SchedulerStats
        public var stages: [StageStats]
        /// The KV allocated on each module after every scheduling decision, for policy tests.
        public var allocatedHistory: [[Int64]]
    }

    /// Drives the host loop (`HostLoop`) with the micro-batches in the order they are sent: each goes to every
    /// member of stage 0, member m of each stage hands it to member m of the next, and member 0 of the last stage
    /// returns it to the host.
    public func run() throws -> Outcome {
        var loop = HostLoop(plan: plan)
        var stages = plan.stages.map { TensorParallelGroup(plan: plan, stage: $0, store: store, caches: caches) }
        var queue = try loop.start()
        var head = 0
        var history: [[Int64]] = []
        while head < queue.count {
            let send = queue[head]
            head += 1
            var transits = send.transits
            for k in stages.indices {
                let outcomes = try stages[k].handle(
                    transits: transits, entries: send.injection.entries, payloadBytes: send.payloadBytes,
                    microBatch: send.injection.microBatch, step: send.injection.step)
                transits = outcomes.map { $0.transit ?? Transit(readyPs: 0, headPs: 0, tailPs: 0) }
            }
            history.append(stages.map { $0.members[0].allocator.allocatedBytes })
            queue += try loop.returned(send.injection, transit: transits[0])
        }
        let all = stages.flatMap(\.stats)
        return Outcome(
            simulated: loop.simulated(stages: all), scheduler: loop.scheduler.stats, stages: all,
            allocatedHistory: history)
    }
}
