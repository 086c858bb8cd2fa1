import Pipeline
import Transport

/// Every message of the lolpim wire protocol (docs/PROTOCOL.md).
public enum WireMessage {
    case hello(Hello)
    case config(Config)
    case ready(Ready)
    case heartbeat
    /// A worker's heartbeat while it times a micro-batch slowly (the `cent` partitioning's first replay of a
    /// device step): it counts as progress, so the coordinator's stall time-out waits for it.
    case busy
    case finish(Finish)
    case stats(StatsReport)
    case shutdown(Shutdown)
    case error(ErrorReport)
    /// A micro-batch and its activation payload (the received frame; forwarding it does not copy).
    case microBatch(MicroBatchHeader, payload: Message)
    /// A member's state and chunks for a micro-batch's tensor-parallel collectives, to another member.
    case collective(CollectiveHeader, payload: Message)
    /// A member's partial sums for one all-reduce of a functional run, to another member.
    case partialSums(PartialSumsHeader, payload: Message)

    /// Message type codes as they appear in byte 6 of the header.
    public enum Kind: UInt8, Sendable, CaseIterable {
        case hello = 1, config = 2, ready = 3, heartbeat = 4, finish = 5, stats = 6, shutdown = 7, error = 8, busy = 9
        case microBatch = 16, collective = 17, partialSums = 18
    }

    public var kind: Kind {
        switch self {
        case .hello: return .hello
        case .config: return .config
        case .ready: return .ready
        case .heartbeat: return .heartbeat
        case .busy: return .busy
        case .finish: return .finish
        case .stats: return .stats
        case .shutdown: return .shutdown
        case .error: return .error
        case .microBatch: return .microBatch
        case .collective: return .collective
        case .partialSums: return .partialSums
        }
    }
}
