/// What travels with one micro-batch from stage to stage: which requests it holds and the tokens each one's
/// attention covers, and when it left the sender. On the wire it is the header frame of a data message, with
/// the activation bytes (requests × hidden × 2 bytes) in a second frame (docs/PROTOCOL.md).
public struct MicroBatchHeader: Sendable, Equatable {
    /// One request of the micro-batch and the tokens its attention covers at this step.
    public struct Entry: Sendable, Equatable {
        public var request: UInt32
        public var context: UInt32
        public var flags: UInt32

        /// The request's first decode step: its prompt's KV arrived; allocate it.
        public static let first: UInt32 = 1
        /// The request's last decode step: free its KV after this step.
        public static let last: UInt32 = 2

        public init(request: UInt32, context: UInt32, flags: UInt32 = 0) {
            self.request = request
            self.context = context
            self.flags = flags
        }

        public var isFirst: Bool { flags & Self.first != 0 }
        public var isLast: Bool { flags & Self.last != 0 }
    }

    /// Which micro-batch this is (0 ..< parallelism.micro_batches).
    public var microBatch: UInt32
    /// The micro-batch's decode step: how many times it entered the pipeline before, 0-based. With continuous
    /// batching its requests may change from step to step.
    public var step: UInt32
    /// Simulated times of the activation's transfer to the receiver's port: when the sender had it ready, when
    /// its first bit can reach the port, when its last bit can, picoseconds.
    public var transit: Transit
    /// Sender's wall clock at send (ns since the Unix epoch); only for the wall-clock section.
    public var wallSendNs: UInt64
    public var entries: [Entry]

    public init(microBatch: UInt32, step: UInt32, transit: Transit, wallSendNs: UInt64, entries: [Entry]) {
        self.microBatch = microBatch
        self.step = step
        self.transit = transit
        self.wallSendNs = wallSendNs
        self.entries = entries
    }
}
