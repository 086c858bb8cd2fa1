/// What a member of a tensor-parallel group sends every other member at each all-reduce of a functional run: which
/// micro-batch step and which of its all-reduces (in the order `FunctionalStage.compute` makes them), and the sender.
/// Frame 1 holds the sender's partial sums (`ValueFrames`). docs/PROTOCOL.md §5c.
public struct PartialSumsHeader: Sendable, Equatable, Hashable {
    public struct Key: Sendable, Equatable, Hashable {
        public var step: CollectiveHeader.Key
        /// The all-reduce's index within the micro-batch step.
        public var index: UInt32

        public init(step: CollectiveHeader.Key, index: UInt32) {
            self.step = step
            self.index = index
        }
    }

    public var key: Key
    public var sender: UInt32
    /// Whether the values travel as 32-bit floats (the logits' gather) rather than in the run's arithmetic.
    public var exact: Bool

    public init(key: Key, sender: UInt32, exact: Bool) {
        self.key = key
        self.sender = sender
        self.exact = exact
    }

    /// Bytes after the common 8-byte header: step, micro-batch, index, sender, exact (UInt32 each).
    static let bytes = 5 * 4
}
