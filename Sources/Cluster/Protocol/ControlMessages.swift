import Foundation
import Pipeline

// The bodies of the control messages (JSON inside the frame, after the binary header). See docs/PROTOCOL.md.

/// Worker → coordinator, first message: who I am and where my data socket listens.
public struct Hello: Codable, Sendable, Equatable {
    public var rank: Int
    /// Endpoint of the worker's data (PULL) socket, as upstream peers should connect to it.
    public var dataEndpoint: String
    public var hostname: String
    public var pid: Int32
    public var software: String
    /// Endpoint of the worker's tensor-parallel (PULL) socket, where its group's collective chunks arrive.
    public var tpEndpoint: String

    public init(rank: Int, dataEndpoint: String, tpEndpoint: String, hostname: String, pid: Int32, software: String) {
        self.rank = rank
        self.dataEndpoint = dataEndpoint
        self.tpEndpoint = tpEndpoint
        self.hostname = hostname
        self.pid = pid
        self.software = software
    }
}

/// Coordinator → worker: the resolved topology, the worker's stage, where to send its output, time-outs.
public struct Config: Codable, Sendable, Equatable {
    public var rank: Int
    public var topology: Topology
    /// Data endpoint of the next stage's member with the same index (or the coordinator's return socket for
    /// member 0 of the last stage); nil for the other members of the last stage, which send nothing on.
    public var downstream: String?
    /// TP endpoints of the worker's stage group, by member index (its own included); one entry without
    /// tensor parallelism.
    public var group: [String]
    public var heartbeatIntervalMs: Int
    public var heartbeatTimeoutMs: Int
    /// Record a timeline of the stage's work and send it with the statistics.
    public var recordTimeline: Bool?
    /// Channel-group tracks per module in the timeline (absent or 0: none).
    public var timelineChannelGroups: Int?
}

/// Worker → coordinator: configured and connected downstream.
public struct Ready: Codable, Sendable, Equatable {
    public var rank: Int
}

/// Worker → coordinator at the end: the simulated stage statistics and the worker's wall-clock figures.
public struct StatsReport: Codable, Sendable, Equatable {
    public var rank: Int
    public var stage: StageStats
    public var wall: WallStats
    /// The stage's timeline, when the configuration asked for one.
    public var timeline: [TimelineEvent]?
}

/// Coordinator → worker: the run is over once this worker has handled `microBatches` micro-batches (every
/// worker handles every micro-batch the host injected); then it sends its statistics. A member of a
/// tensor-parallel group may still be working through micro-batches its group's member 0 has already
/// passed on, so a worker finishes its share before it reports.
public struct Finish: Codable, Sendable, Equatable {
    public var microBatches: Int64

    public init(microBatches: Int64) { self.microBatches = microBatches }
}

/// Coordinator → worker: stop now, without a result.
public struct Shutdown: Codable, Sendable, Equatable {
    public var reason: String
}

/// Either direction: something went wrong; `message` says what, for a person to read.
public struct ErrorReport: Codable, Sendable, Equatable {
    public var rank: Int?
    public var message: String
}

// MARK: Bounds on the text a peer sends

/// Every string a peer sends is bounded and checked when its message is decoded (`WireCodec.decode`), before it
/// is kept, printed or written to results.json: names and endpoints must be short and printable (a peer that
/// sends otherwise is refused); free text (error messages, shutdown reasons) is cut and its control characters
/// escaped, so that it cannot forge lines or send terminal escape sequences.
enum PeerText {
    static let maxName = 255
    static let maxEndpoint = 1024
    static let maxMessage = 4096

    static func name(_ value: String, _ field: String, _ type: String, limit: Int = maxName) throws(ProtocolError) {
        guard value.count <= limit else {
            throw .malformedBody(type: type, reason: "\(field) of \(value.count) characters is longer than \(limit)")
        }
        guard SafeText.clip(value, limit: limit) == value else {
            throw .malformedBody(
                type: type,
                reason: "\(field) holds control characters: "
                    + "'\(SafeText.clip(value, limit: 80))'")
        }
    }

    static func message(_ value: String) -> String { SafeText.clip(value, limit: maxMessage) }
}

extension Hello {
    func checked() throws(ProtocolError) -> Hello {
        try PeerText.name(hostname, "hostname", "hello")
        try PeerText.name(software, "software", "hello")
        try PeerText.name(dataEndpoint, "dataEndpoint", "hello", limit: PeerText.maxEndpoint)
        try PeerText.name(tpEndpoint, "tpEndpoint", "hello", limit: PeerText.maxEndpoint)
        return self
    }
}

extension Config {
    func checked() throws(ProtocolError) -> Config {
        for endpoint in group + (downstream.map { [$0] } ?? []) {
            try PeerText.name(endpoint, "endpoint", "config", limit: PeerText.maxEndpoint)
        }
        return self
    }
}

extension Shutdown {
    func checked() -> Shutdown { Shutdown(reason: PeerText.message(reason)) }
}

extension ErrorReport {
    func checked() -> ErrorReport { ErrorReport(rank: rank, message: PeerText.message(message)) }
}
