import Foundation
import Logging
import PIMModule
import Transport

/// Options of one worker process (or thread, with `inproc://`).
public struct WorkerOptions: Sendable {
    /// The coordinator's control endpoint.
    public var coordinator: String
    public var rank: Int
    /// Where to bind the data socket; nil derives it from `coordinator` (see `Endpoints`).
    public var dataBind: String?
    /// How long to wait for the coordinator's configuration after saying hello, milliseconds.
    public var registrationTimeoutMs: Int
    /// CURVE keys of the cluster (see `ClusterKeys`); nil: no security.
    public var keys: ClusterKeys?

    public init(coordinator: String, rank: Int, dataBind: String? = nil, registrationTimeoutMs: Int = 60_000,
                keys: ClusterKeys? = nil) {
        self.keys = keys
        self.coordinator = coordinator
        self.rank = rank
        self.dataBind = dataBind
        self.registrationTimeoutMs = registrationTimeoutMs
    }
}

/// One PIM module: registers with the coordinator, receives its stage of the topology, then times every
/// micro-batch that arrives on its data socket and forwards the activation to the next stage directly.
public final class Worker {
    let options: WorkerOptions
    let context: Context
    var logger: Logger
    private var wall = WallStats()

    public init(options: WorkerOptions, context: Context? = nil) throws {
        self.options = options
        self.context = try context ?? Context()
        logger = Logger(label: "lolpim.worker.\(options.rank)")
    }

    /// Runs until the coordinator says finish (returns) or something fails (throws). A failure is also
    /// reported to the coordinator (best effort) so that it can stop the run at once, naming this worker.
    public func run() throws {
        let zap = try options.keys.map { try $0.authenticator(for: context, logger: logger) }
        defer { zap?.stop() }
        var control: Socket?
        do {
            try run(control: &control)
        } catch {
            if let control, !Self.cameFromCoordinator(error) {
                _ = try? control.send(WireCodec.encode(.error(ErrorReport(rank: options.rank, message: "\(error)"))),
                                      dontWait: true)
            }
            throw error
        }
    }

    /// Errors the coordinator already knows about (it sent them, or it is the one that went away).
    private static func cameFromCoordinator(_ error: Error) -> Bool {
        switch error as? RuntimeError {
        case .aborted?, .refused?, .peerSilent?: return true
        default: return false
        }
    }

    private func run(control controlSocket: inout Socket?) throws {
        let control = try Socket(context, .dealer)
        try options.keys.secureClient(control)
        // Unique per process, so that a second worker claiming the same rank gets a refusal, not silence.
        try control.set(.routingId(Array("rank-\(options.rank)-pid-\(getpid())-\(UInt16.random(in: 0...UInt16.max))".utf8)))
        try control.set(.sendTimeout(Int32(options.registrationTimeoutMs)))
        try control.connect(options.coordinator)
        controlSocket = control
        let data = try Socket(context, .pull)
        try options.keys.secureServer(data)
        try data.set(.maxMessageSize(1 << 30))
        let bind = options.dataBind ?? Endpoints.workerData(forControl: options.coordinator, rank: options.rank)
        try data.bind(bind)
        let dataEndpoint = data.lastEndpoint

        let hello = Hello(rank: options.rank, dataEndpoint: dataEndpoint, hostname: ProcessInfo.processInfo.hostName,
                          pid: ProcessInfo.processInfo.processIdentifier, software: LolpimVersion.string)
        try send(.hello(hello), on: control)
        let config = try awaitConfig(control)
        logger.debug("configured", metadata: ["downstream": "\(config.downstream)"])

        let plan: PipelinePlan
        do {
            plan = try PipelinePlan(topology: config.topology)
        } catch {
            try? send(.error(ErrorReport(rank: options.rank, message: "cannot plan the topology: \(error)")), on: control)
            throw RuntimeError.aborted("rank \(options.rank): cannot plan the topology: \(error)")
        }
        guard plan.stages.indices.contains(options.rank) else {
            throw RuntimeError.refused("rank \(options.rank) has no stage in a \(plan.stages.count)-stage pipeline")
        }
        var stage = StageSimulator(plan: plan, stage: plan.stages[options.rank])
        if config.recordTimeline == true {
            stage.timeline = []
            stage.channelGroups = config.timelineChannelGroups ?? 0
        }
        let downstream = try Socket(context, .push)
        try options.keys.secureClient(downstream)
        try downstream.set(.sendTimeout(Int32(config.heartbeatTimeoutMs)))
        try downstream.connect(config.downstream)
        try send(.ready(Ready(rank: options.rank)), on: control)

        let bytesPerRequest = config.topology.model.activationBytesPerRequest
        var lastHeard = WallClock.monotonicMs()
        var nextHeartbeat = lastHeard
        let poller = Poller()
        while true {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            let now = WallClock.monotonicMs()
            if now >= nextHeartbeat {
                try send(.heartbeat, on: control)
                nextHeartbeat = now + Int64(config.heartbeatIntervalMs)
            }
            if now - lastHeard > Int64(config.heartbeatTimeoutMs) {
                throw RuntimeError.peerSilent("coordinator at \(options.coordinator) sent nothing for "
                                              + "\(config.heartbeatTimeoutMs / 1000) s; worker \(options.rank) exits")
            }
            let ready = try poller.readable([control, data], timeoutMs: Int(max(1, nextHeartbeat - now)))
            if ready[1] {
                while let frames = try data.receive(dontWait: true) {
                    try handleData(frames, stage: &stage, bytesPerRequest: bytesPerRequest,
                                   downstream: downstream, control: control)
                }
            }
            if ready[0] {
                while let frames = try control.receive(dontWait: true) {
                    lastHeard = WallClock.monotonicMs()
                    switch try decodeFromCoordinator(frames) {
                    case .heartbeat: break
                    case .finish:
                        try send(.stats(StatsReport(rank: options.rank, stage: stage.stats, wall: wall,
                                                    timeline: stage.timeline)), on: control)
                        return
                    case .shutdown(let s): throw RuntimeError.aborted("coordinator stopped the run: \(s.reason)")
                    case .error(let e): throw RuntimeError.aborted("coordinator reported: \(e.message)")
                    default: logger.warning("ignored an unexpected control message from the coordinator")
                    }
                }
            }
        }
    }

    private func awaitConfig(_ control: Socket) throws -> Config {
        let deadline = WallClock.monotonicMs() + Int64(options.registrationTimeoutMs)
        let poller = Poller()
        while true {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            let now = WallClock.monotonicMs()
            if now >= deadline {
                throw RuntimeError.timeout("no configuration from the coordinator at \(options.coordinator) within "
                                           + "\(options.registrationTimeoutMs / 1000) s; is it running and reachable?")
            }
            guard try poller.readable([control], timeoutMs: Int(min(200, deadline - now)))[0],
                  let frames = try control.receive(dontWait: true) else { continue }
            switch try decodeFromCoordinator(frames) {
            case .config(let config):
                guard config.rank == options.rank else {
                    throw RuntimeError.protocolViolation("coordinator configured rank \(config.rank), we are \(options.rank)")
                }
                return config
            case .error(let e): throw RuntimeError.refused("coordinator refused worker \(options.rank): \(e.message)")
            case .shutdown(let s): throw RuntimeError.aborted("coordinator stopped the run: \(s.reason)")
            default: continue
            }
        }
    }

    private func decodeFromCoordinator(_ frames: [Message]) throws -> WireMessage {
        do {
            return try WireCodec.decode(frames)
        } catch {
            throw RuntimeError.protocolViolation("message from the coordinator at \(options.coordinator): \(error)")
        }
    }

    /// Times one micro-batch and forwards it. An invalid data message is reported to the coordinator (the
    /// data stream can no longer be trusted, so the coordinator aborts the run).
    private func handleData(_ frames: [Message], stage: inout StageSimulator, bytesPerRequest: Int,
                            downstream: Socket, control: Socket) throws {
        let size = frames.reduce(0) { $0 + $1.count }
        wall.received(bytes: size)
        let peer = frames.first?.property("Peer-Address").map { " from \($0)" } ?? ""
        let header: MicroBatchHeader, payload: Message
        do {
            guard case .microBatch(let h, let p) = try WireCodec.decode(frames) else {
                throw ProtocolError.malformedBody(type: "data", reason: "only micro-batches belong on the data socket")
            }
            let expected = h.entries.count * bytesPerRequest
            guard p.count == expected else { throw ProtocolError.payloadSize(expected: expected, got: p.count) }
            (header, payload) = (h, p)
        } catch {
            let text = "worker \(options.rank) refused a message on its data socket\(peer): \(error)"
            logger.error("\(text)")
            try send(.error(ErrorReport(rank: options.rank, message: text)), on: control)
            return
        }
        let now = WallClock.realtimeNs()
        wall.dataLatency.record(ns: Int64(bitPattern: now &- header.wallSendNs))
        let outcome: StageSimulator.Outcome
        do {
            outcome = try stage.handle(depart: header.departPs, entries: header.entries, payloadBytes: Int64(payload.count),
                                       slot: Int(header.microBatch), iteration: Int(header.iteration))
        } catch {
            let text = "worker \(options.rank): KV allocation failed for micro-batch \(header.microBatch): \(error)"
            try send(.error(ErrorReport(rank: options.rank, message: text)), on: control)
            throw RuntimeError.aborted(text)
        }
        var next = header
        next.departPs = outcome.depart
        next.wallSendNs = WallClock.realtimeNs()
        let out = WireCodec.encode(.microBatch(next, payload: payload))
        let outSize = out.reduce(0) { $0 + $1.count }
        guard try downstream.send(out) else {
            throw RuntimeError.timeout("worker \(options.rank) could not hand micro-batch \(header.microBatch) to the "
                                       + "next stage: downstream not accepting")
        }
        wall.sent(bytes: outSize)
    }

    private func send(_ message: WireMessage, on socket: Socket) throws {
        let frames = WireCodec.encode(message)
        let size = frames.reduce(0) { $0 + $1.count }
        guard try socket.send(frames) else {
            throw RuntimeError.timeout("worker \(options.rank) could not send a \(message.kind) message to the coordinator")
        }
        wall.sent(bytes: size)
    }
}

/// The software version announced in hello messages.
public enum LolpimVersion {
    public static let string = "lolpim 0.1.0 (protocol \(WireCodec.version))"
}
