import PIMModule

/// The whole simulation in one thread, without processes or sockets: micro-batches go through the stages
/// in the order the coordinator sends them, which is exactly the order every FIFO stage of the distributed
/// run sees. Its results are the reference the distributed run must reproduce byte for byte; it also serves
/// tests of batching and allocation policies.
public struct SequentialRun {
    public let plan: PipelinePlan
    /// Where kernel timings are looked up (default: one store in memory that every stage shares).
    public let store: any KernelTimingStore

    public init(plan: PipelinePlan, store: (any KernelTimingStore)? = nil) {
        self.plan = plan
        self.store = store ?? MemoryKernelStore()
    }

    public struct Outcome {
        public var simulated: SimulatedResults
        public var scheduler: SchedulerStats
        public var stages: [StageStats]
        /// The KV allocated on each module after every scheduling decision, for policy tests.
        public var allocatedHistory: [[Int64]]
    }

    public func run() throws -> Outcome {
        var host = HostModel(topology: plan.topology)
        var scheduler = BatchScheduler(plan: plan)
        var stages = plan.stages.map { TensorParallelGroup(plan: plan, stage: $0, store: store) }
        let bytesPerRequest = Int64(plan.topology.model.activationBytesPerRequest)
        var queue = scheduler.start(host: &host)
        var head = 0
        var makespan: Picoseconds = 0
        var history: [[Int64]] = []
        while head < queue.count {
            let injection = queue[head]
            head += 1
            let bytes = Int64(injection.entries.count) * bytesPerRequest
            // The host sends the micro-batch to every member of stage 0, one after the other on its link;
            // member m of each stage sends on to member m of the next; member 0 of the last returns it.
            var transits = (0..<plan.topology.parallelism.tp).map {
                host.inject(ready: injection.ready, payloadBytes: bytes, member: $0)
            }
            for k in stages.indices {
                let outcomes = try stages[k].handle(
                    transits: transits, entries: injection.entries, payloadBytes: bytes,
                    slot: injection.slot, injection: injection.injection)
                transits = outcomes.map { $0.transit ?? Transit(readyPs: 0, headPs: 0, tailPs: 0) }
            }
            history.append(stages.map { $0.members[0].allocator.allocatedBytes })
            let sampled = host.complete(transits[0], payloadBytes: bytes, requests: injection.entries.count)
            makespan = max(makespan, sampled)
            try SimulatedTimeBudget.check(makespan)
            queue += scheduler.returned(slot: injection.slot, now: sampled, host: &host)
        }
        let all = stages.flatMap(\.stats)
        let simulated = ResultsBuilder(plan: plan).simulated(
            makespan: makespan, scheduler: scheduler.stats, host: host,
            stages: all)
        return Outcome(simulated: simulated, scheduler: scheduler.stats, stages: all, allocatedHistory: history)
    }
}
