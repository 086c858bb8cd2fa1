import Pipeline

/// The binary header of a `collective` message: what one member of a tensor-parallel group tells each other
/// member once per micro-batch (docs/PROTOCOL.md §5b): its state at the start of the micro-batch, which
/// decides its part in every collective of it. Frame 1 carries the chunks it sends that member over the
/// micro-batch, end to end in segment and phase order (the partial sums of each all-reduce phase, the
/// gathered candidates).
public struct CollectiveHeader: Sendable, Equatable, Hashable {
    /// Identifies the micro-batch and its decode step (`MicroBatchHeader`).
    public struct Key: Sendable, Equatable, Hashable {
        public var microBatch: UInt32
        public var step: UInt32

        public init(microBatch: UInt32, step: UInt32) {
            self.microBatch = microBatch
            self.step = step
        }
    }

    public var key: Key
    /// The sender's member index in the group.
    public var sender: UInt32
    /// Chunks in frame 1.
    public var chunks: UInt32
    /// Simulated time the sender starts the micro-batch and its TP ports are next free, picoseconds.
    public var startPs: Int64
    public var egressFreePs: Int64
    public var ingressFreePs: Int64
    /// When the sender's pipeline egress port is next free (its group times a shared link's flows: `network:`).
    public var forwardFreePs: Int64

    public init(key: Key, sender: UInt32, chunks: UInt32, state: CollectivePorts.State) {
        self.key = key
        self.sender = sender
        self.chunks = chunks
        startPs = state.startPs
        egressFreePs = state.egressFreePs
        ingressFreePs = state.ingressFreePs
        forwardFreePs = state.forwardFreePs
    }

    public var state: CollectivePorts.State {
        CollectivePorts.State(
            startPs: startPs, egressFreePs: egressFreePs, ingressFreePs: ingressFreePs, forwardFreePs: forwardFreePs)
    }

    /// Bytes after the common 8-byte header: step, micro-batch, sender, chunks (UInt32 each), start,
    /// egress free, ingress free, forward free (Int64 each).
    static let bytes = 4 * 4 + 4 * 8
    /// Most chunks one message may carry (4 per layer of a stage, plus a gather).
    static let maxChunks: UInt32 = 1 << 16
}
