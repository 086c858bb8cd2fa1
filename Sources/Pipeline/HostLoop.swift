import PIMModule

/// The host's side of a run, whoever carries the micro-batches between processes (the coordinator over sockets)
/// or in one thread (`SequentialRun`): every micro-batch the scheduler releases goes to each member of stage 0, in
/// turn, over the host's link; what comes back from the last stage is sampled, the simulated clock's budget is
/// checked, and the scheduler says what to send next. Both drivers call the same functions in the same order, which
/// is what makes a distributed run's results byte-identical to the reference run.
public struct HostLoop: Sendable {
    public let plan: PipelinePlan
    public private(set) var host: HostModel
    public private(set) var scheduler: BatchScheduler
    /// When the host finished sampling the latest micro-batch it got back: the run's simulated length so far.
    public private(set) var makespan: Picoseconds = 0
    /// Micro-batch steps sent into the pipeline so far (each member of every stage handles each one).
    public private(set) var sent: Int64 = 0

    /// A micro-batch step on its way into stage 0: what the scheduler released, and its activation of
    /// `payloadBytes` in transit to each member of stage 0 (`transits[m]` to member m).
    public struct Send: Sendable, Equatable {
        public var injection: BatchScheduler.Injection
        public var transits: [Transit]
        public var payloadBytes: Int64
    }

    /// - Parameter timeline: record the host's spans (sampling; prompt KV over a network) for `--trace`.
    public init(plan: PipelinePlan, timeline: Bool = false) {
        self.plan = plan
        host = HostModel(topology: plan.topology)
        if timeline { host.timeline = [] }
        scheduler = BatchScheduler(plan: plan)
    }

    /// Whether every request has generated all its tokens.
    public var finished: Bool { scheduler.finished }

    /// The first micro-batches, at time 0.
    public mutating func start() throws(BatchScheduler.MirrorDisagreement) -> [Send] {
        let injections = try scheduler.start(host: &host)
        return injections.map { send($0) }
    }

    /// The micro-batch `injection` came back from the last stage in `transit`: the host receives and samples it,
    /// and the scheduler records the tokens and releases what to send next. Throws `SimulatedTimeLimitExceeded`
    /// when the simulated clock passes its budget (`BatchScheduler.MirrorDisagreement` on a bug).
    public mutating func returned(_ injection: BatchScheduler.Injection, transit: Transit) throws -> [Send] {
        let requests = injection.entries.count
        let sampled = host.complete(transit, payloadBytes: payloadBytes(requests: requests), requests: requests)
        if host.timeline != nil {
            let cost = host.samplingCost(requests: requests)
            host.timeline!.append(
                TimelineEvent(
                    track: "host", name: "sample micro-batch \(injection.microBatch)", startPs: sampled - cost,
                    durationPs: cost, microBatch: injection.microBatch, step: injection.step))
        }
        makespan = max(makespan, sampled)
        try SimulatedTimeBudget.check(makespan)
        let next = try scheduler.returned(microBatch: injection.microBatch, now: sampled, host: &host)
        return next.map { send($0) }
    }

    /// The `simulated` section of the run's results, from every module's statistics.
    public func simulated(stages: [StageStats]) -> SimulatedResults {
        ResultsBuilder(plan: plan).simulated(makespan: makespan, scheduler: scheduler.stats, host: host, stages: stages)
    }

    /// Activation bytes of a micro-batch of `requests` requests.
    public func payloadBytes(requests: Int) -> Int64 {
        Int64(requests) * Int64(plan.topology.model.activationBytesPerRequest)
    }

    /// Sends `injection` to every member of stage 0, one after the other on the host's link.
    private mutating func send(_ injection: BatchScheduler.Injection) -> Send {
        sent += 1
        let bytes = payloadBytes(requests: injection.entries.count)
        let transits = (0..<plan.topology.parallelism.tp).map {
            host.inject(ready: injection.ready, payloadBytes: bytes, member: $0)
        }
        return Send(injection: injection, transits: transits, payloadBytes: bytes)
    }
}
