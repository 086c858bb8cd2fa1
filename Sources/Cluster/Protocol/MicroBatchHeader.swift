/// The header of a data message: one micro-batch at one decode step, moving between stages. The activation
/// bytes travel in a second frame (requests × hidden × 2 bytes).
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

    /// Decode step, 0-based.
    public var iteration: UInt32
    public var microBatch: UInt32
    /// Simulated time the message left the sender's egress port, picoseconds.
    public var departPs: Int64
    /// Sender's wall clock at send (ns since the Unix epoch); only for the wall-clock section.
    public var wallSendNs: UInt64
    public var entries: [Entry]

    public init(iteration: UInt32, microBatch: UInt32, departPs: Int64, wallSendNs: UInt64, entries: [Entry]) {
        self.iteration = iteration
        self.microBatch = microBatch
        self.departPs = departPs
        self.wallSendNs = wallSendNs
        self.entries = entries
    }

    /// Bytes of the fixed part after the common 8-byte header.
    static let fixedBytes = 4 + 4 + 8 + 8 + 4
    static let entryBytes = 12
    /// Upper bound on requests per micro-batch accepted from the wire.
    static let maxEntries = 1 << 20
}
