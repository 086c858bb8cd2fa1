/// The header of a data message: one micro-batch at one decode step, moving between stages. The activation
/// bytes travel in a second frame (requests × hidden × 2 bytes).
public struct MicroBatchHeader: Sendable, Equatable {
    /// One request of the micro-batch and the tokens its attention covers at this step.
    public struct Entry: Sendable, Equatable {
        public var request: UInt32
        public var context: UInt32
        public init(request: UInt32, context: UInt32) {
            self.request = request
            self.context = context
        }
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
    static let entryBytes = 8
    /// Upper bound on requests per micro-batch accepted from the wire.
    static let maxEntries = 1 << 20
}
