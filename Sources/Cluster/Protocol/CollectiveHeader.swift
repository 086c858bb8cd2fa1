/// The binary header of a `collective` message: one member's chunk of a tensor-parallel collective,
/// sent worker → worker inside a pipeline stage's group (docs/PROTOCOL.md §5b). Frame 1 carries the chunk's
/// bytes (the partial sums of an all-reduce, or the gathered candidates).
public struct CollectiveHeader: Sendable, Equatable, Hashable {
    /// Identifies the collective: the micro-batch (decode step and slot), the collective's index inside the
    /// stage's work for it, and the phase (0: reduce-scatter or gather, 1: all-gather).
    public struct Key: Sendable, Equatable, Hashable {
        public var iteration: UInt32
        public var microBatch: UInt32
        public var index: UInt32
        public var phase: UInt8

        public init(iteration: UInt32, microBatch: UInt32, index: UInt32, phase: UInt8) {
            self.iteration = iteration
            self.microBatch = microBatch
            self.index = index
            self.phase = phase
        }
    }

    public var key: Key
    /// The sender's member index in the group.
    public var sender: UInt32
    /// Simulated time the chunk left the sender's TP port, picoseconds.
    public var departPs: Int64

    public init(key: Key, sender: UInt32, departPs: Int64) {
        self.key = key
        self.sender = sender
        self.departPs = departPs
    }

    /// Bytes after the common 8-byte header: iteration, micro-batch, index (UInt32 each), phase (UInt8),
    /// 3 zero bytes, sender (UInt32), depart (Int64).
    static let bytes = 4 + 4 + 4 + 1 + 3 + 4 + 8
}
