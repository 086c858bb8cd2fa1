import PIMModule

/// What the simulators running in one process may reuse from each other: the kernels some thread is simulating
/// right now (`KernelsInFlight`), tensor-parallel groups' collective replays (`GroupReplays`), micro-batches'
/// stage costs (`StageCosts`) and the `cent` partitioning's trace replays (`CENTReplays`). Whoever starts
/// simulators hands one value to all of them (a worker process, the in-process launcher, a study running several
/// points at once, `SequentialRun`); simulated results never depend on it, only how often work is repeated.
public struct ProcessCaches: Sendable {
    public let kernelsInFlight: KernelsInFlight
    public let groupReplays: GroupReplays
    public let centReplays: CENTReplays
    public let stageCosts: StageCosts

    public init(
        kernelsInFlight: KernelsInFlight = KernelsInFlight(), groupReplays: GroupReplays = GroupReplays(),
        centReplays: CENTReplays = CENTReplays(), stageCosts: StageCosts = StageCosts()
    ) {
        self.stageCosts = stageCosts
        self.kernelsInFlight = kernelsInFlight
        self.groupReplays = groupReplays
        self.centReplays = centReplays
    }
}
