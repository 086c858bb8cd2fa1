import PIMModule

/// One event of a run's timeline, in simulated time: a span on a track (a module, an op inside a module's
/// work, a link, the host) or an instant (a DPA event). Workers record their own; the coordinator merges
/// them into a Chrome-trace / Perfetto JSON file (`lolpim run --trace FILE`).
public struct TimelineEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case span, instant }
    public var kind: Kind
    /// Track: "module 3", "module 3 ops", "link stage3->stage4", "host".
    public var track: String
    public var name: String
    public var startPs: Picoseconds
    public var durationPs: Picoseconds
    /// Micro-batch and decode step, for flow arrows that follow a micro-batch through the pipeline.
    public var microBatch: Int?
    public var step: Int?
    public var args: [String: String]?

    public init(
        kind: Kind = .span, track: String, name: String, startPs: Picoseconds, durationPs: Picoseconds = 0,
        microBatch: Int? = nil, step: Int? = nil, args: [String: String]? = nil
    ) {
        self.kind = kind
        self.track = track
        self.name = name
        self.startPs = startPs
        self.durationPs = durationPs
        self.microBatch = microBatch
        self.step = step
        self.args = args
    }
}
