import Foundation
import Logging
import PIMModule
import Pipeline
import Transport
import Workload

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
    /// This host's kernel-timing store, or off.
    public var kernelStore: KernelStoreChoice
    /// What this worker's simulator may reuse from other simulators of its process (workers that are threads of
    /// one process share one).
    public var caches: ProcessCaches

    public init(
        coordinator: String, rank: Int, dataBind: String? = nil, registrationTimeoutMs: Int = 60_000,
        keys: ClusterKeys? = nil, kernelStore: KernelStoreChoice = .off, caches: ProcessCaches = ProcessCaches()
    ) {
        self.caches = caches
        self.keys = keys
        self.kernelStore = kernelStore
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
    /// Messages dropped because they are not lolpim messages at all (a stray or hostile client).
    private var strangers = ForeignMessages()

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
                _ = try? control.send(
                    WireCodec.encode(.error(ErrorReport(rank: options.rank, message: "\(error)"))),
                    dontWait: true)
            }
            throw error
        }
    }

    /// Errors the coordinator already knows about (it sent them, or it is the one that went away).
    private static func cameFromCoordinator(_ error: Error) -> Bool {
        switch error as? RuntimeError {
        case .aborted?, .stoppedByCoordinator?, .refused?, .peerSilent?: return true
        default: return false
        }
    }

    /// The sockets and clocks of a configured worker, shared by the main loop and collective waits.
    private struct Session {
        let control: Socket
        let data: Socket
        /// Where the group's collective chunks arrive.
        let tp: Socket
        /// PUSH sockets to the other members of the group, by member index (nil for this one).
        let group: [Socket?]
        let downstream: Socket?
        let config: Config
        var lastHeard: Int64
        var nextHeartbeat: Int64
        /// Whether the worker is timing a micro-batch on another thread (its heartbeats are then `busy`).
        var working = false
        /// Micro-batches this worker has handled, and how many it handles in all once the coordinator said so.
        var handled: Int64 = 0
        var finishAfter: Int64?
        var isDone: Bool { finishAfter.map { handled >= $0 } ?? false }
        /// Offers that arrived before this worker was waiting for them (collective messages), by micro-batch step
        /// and sender.
        var early: [CollectiveHeader.Key: [Int: StageSimulator.Offer]] = [:]
        /// A functional run's computation on this module (nil: timing only).
        var functional: FunctionalStage?
        /// Partial sums of functional all-reduces that arrived before this worker was waiting for them, by
        /// all-reduce and sender.
        var partials: [PartialSumsHeader.Key: [Int: [Float]]] = [:]
    }

    private func run(control controlSocket: inout Socket?) throws {
        let control = try connectControl()
        controlSocket = control
        let (data, tp) = try bindInputs()
        let hello = Hello(
            rank: options.rank, dataEndpoint: data.lastEndpoint, tpEndpoint: tp.lastEndpoint,
            hostname: ProcessInfo.processInfo.hostName, pid: ProcessInfo.processInfo.processIdentifier,
            software: LolpimVersion.string)
        try send(.hello(hello), on: control)
        let config = try awaitConfig(control)
        logger.debug("configured", metadata: ["downstream": "\(config.downstream ?? "none")"])
        let plan = try plan(config, control: control)
        let (stageIndex, member) = plan.position(rank: options.rank)
        let store = options.kernelStore.store.map { CountingKernelStore($0) }
        var stage = StageSimulator(
            plan: plan, stage: plan.stages[stageIndex], member: member, store: store, caches: options.caches)
        if config.recordTimeline == true {
            stage.timeline = []
            stage.channelGroups = config.timelineChannelGroups ?? 0
        }
        let functional = try functionalStage(plan, stage: stageIndex, member: member, control: control)
        let (downstream, group) = try connectOutputs(config, member: member)
        try send(.ready(Ready(rank: options.rank)), on: control)

        let now = WallClock.monotonicMs()
        var session = Session(
            control: control, data: data, tp: tp, group: group, downstream: downstream, config: config,
            lastHeard: now, nextHeartbeat: now)
        session.functional = functional
        try serve(&session, stage: &stage)
        wall.kernelStoreHits = store?.hits ?? 0
        wall.kernelStoreMisses = store?.misses ?? 0
        let report = StatsReport(rank: options.rank, stage: stage.stats, wall: wall, timeline: stage.timeline)
        try sendReport(report, session: &session)
    }

    /// Sends the statistics. A timeline of millions of events takes seconds to encode, so it is encoded on
    /// another thread while this one goes on exchanging heartbeats with the coordinator.
    private func sendReport(_ report: StatsReport, session: inout Session) throws {
        guard report.timeline != nil else { return try send(.stats(report), on: session.control) }
        let encoded = EncodedReport()
        try whileServicing(&session) { encoded.set(WireCodec.encode(.stats(report)).map(\.bytes)) }
        try send(encoded.get().map(Message.init), kind: .stats, on: session.control)
    }

    /// Runs `work` on another thread while this one goes on exchanging heartbeats with the coordinator; returns
    /// within 20 ms of the work's end.
    private func whileServicing(_ session: inout Session, _ work: @escaping @Sendable () -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            work()
            done.signal()
        }
        while done.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            _ = try service(&session, also: [], waitMs: 0)
        }
    }

    /// The control connection to the coordinator, with a routing id unique per process (so that a second
    /// worker claiming the same rank gets a refusal, not silence).
    private func connectControl() throws -> Socket {
        let control = try Socket(context, .dealer)
        try options.keys.secureClient(control)
        try control.set(
            .routingId(Array("rank-\(options.rank)-pid-\(getpid())-\(UInt16.random(in: 0...UInt16.max))".utf8)))
        try control.set(.sendTimeout(Int32(options.registrationTimeoutMs)))
        try control.connect(options.coordinator)
        return control
    }

    /// Where micro-batches (data) and the group's collective messages (tp) arrive.
    private func bindInputs() throws -> (data: Socket, tp: Socket) {
        let bind =
            try options.dataBind.map(Endpoints.bindable)
            ?? Endpoints.workerData(forControl: options.coordinator, rank: options.rank)
        let data = try Sockets.pull(context, bind: bind, keys: options.keys)
        let tp = try Sockets.pull(
            context, bind: Endpoints.tensorParallel(besideData: bind, rank: options.rank), keys: options.keys,
            receiveBuffer: Self.collectiveSocketBuffer)
        return (data, tp)
    }

    /// The plan of the configuration the coordinator sent, after checking this worker has a place in it; a
    /// configuration it cannot use is reported, so that the coordinator stops at once.
    private func plan(_ config: Config, control: Socket) throws -> PipelinePlan {
        let plan: PipelinePlan
        do {
            plan = try PipelinePlan(topology: config.topology)
        } catch {
            try? reportError("cannot plan the topology: \(error)", on: control)
            throw RuntimeError.aborted("rank \(options.rank): cannot plan the topology: \(error)")
        }
        guard (0..<plan.workers).contains(options.rank), config.group.count == plan.topology.parallelism.tp else {
            let text =
                "rank \(options.rank) has no place in a \(plan.workers)-module run (or its group of "
                + "\(config.group.count) does not match tp \(plan.topology.parallelism.tp))"
            try? reportError(text, on: control)
            throw RuntimeError.protocolViolation(text)
        }
        return plan
    }

    /// A functional run's computation of this module: its share of the checkpoint placed in its banks. A checkpoint
    /// it cannot read is reported, so that the coordinator stops at once.
    private func functionalStage(
        _ plan: PipelinePlan, stage: Int, member: Int, control: Socket
    ) throws -> FunctionalStage? {
        guard let arithmetic = plan.topology.fidelity.functional,
            let directory = plan.topology.model.checkpoint
        else { return nil }
        do {
            return try FunctionalStage(
                plan: plan, stage: plan.stages[stage], member: member,
                checkpoint: HFCheckpoint(directory: directory), arithmetic: arithmetic)
        } catch {
            let text = "rank \(options.rank) cannot set up its functional stage: \(error)"
            try? reportError(text, on: control)
            throw RuntimeError.aborted(text)
        }
    }

    /// The next stage's member (none for the last stage's members other than 0, whose output goes nowhere,
    /// or the coordinator's return path) and the other members of the tensor-parallel group.
    private func connectOutputs(_ config: Config, member: Int) throws -> (downstream: Socket?, group: [Socket?]) {
        let timeout = config.heartbeatTimeoutMs
        let downstream = try config.downstream.map {
            try Sockets.push(context, connect: $0, keys: options.keys, sendTimeoutMs: timeout)
        }
        let group: [Socket?] = try config.group.enumerated().map { index, endpoint in
            guard index != member else { return nil }
            return try Sockets.push(
                context, connect: endpoint, keys: options.keys, sendTimeoutMs: timeout,
                sendBuffer: Self.collectiveSocketBuffer)
        }
        return (downstream, group)
    }

    /// Handles micro-batches until the coordinator says finish.
    private func serve(_ session: inout Session, stage: inout StageSimulator) throws {
        let bytesPerRequest = session.config.topology.model.activationBytesPerRequest
        while true {
            let ready = session.isDone ? .finished : try service(&session, also: [session.data])
            if case .finished = ready { return }
            if case .readable(let sockets) = ready, sockets[0] {
                while !session.isDone, let frames = try session.data.receive(dontWait: true) {
                    try handleData(frames, stage: &stage, bytesPerRequest: bytesPerRequest, session: &session)
                }
            }
        }
    }

    /// Tells the coordinator why this worker stops (it names the worker and stops the run).
    private func reportError(_ text: String, on control: Socket) throws {
        try send(.error(ErrorReport(rank: options.rank, message: text)), on: control)
    }

    private enum Serviced {
        case readable([Bool])
        case finished
    }

    /// One turn of the control loop: heartbeats out, a bounded wait for the control socket or `sockets`,
    /// and the coordinator's messages handled. Throws when the coordinator has been silent too long, stops
    /// the run, or a stop signal arrived; returns `.finished` when the coordinator asks for the statistics.
    private func service(_ session: inout Session, also sockets: [Socket], waitMs: Int? = nil) throws -> Serviced {
        if StopSignal.isRequested { throw RuntimeError.interrupted }
        let config = session.config
        var now = WallClock.monotonicMs()
        if now >= session.nextHeartbeat {
            try send(session.working ? .busy : .heartbeat, on: session.control)
            session.nextHeartbeat = now + Int64(config.heartbeatIntervalMs)
        }
        let ready = try Poller().readable(
            [session.control] + sockets, timeoutMs: waitMs ?? Int(max(1, session.nextHeartbeat - now)))
        if ready[0] {
            while let frames = try session.control.receive(dontWait: true) {
                session.lastHeard = WallClock.monotonicMs()
                switch try decodeFromCoordinator(frames) {
                case .heartbeat: break
                case .finish(let f):
                    session.finishAfter = f.microBatches
                    if session.isDone { return .finished }
                case .shutdown(let s): throw RuntimeError.stoppedByCoordinator(reason: s.reason)
                case .error(let e): throw RuntimeError.aborted("coordinator reported: \(e.message)")
                default: logger.warning("ignored an unexpected control message from the coordinator")
                }
            }
        }
        // Silence is judged after reading what is queued: a long computation must not look like a silent peer.
        now = WallClock.monotonicMs()
        if now - session.lastHeard > Int64(config.heartbeatTimeoutMs) {
            throw RuntimeError.peerSilent(
                .coordinator(endpoint: options.coordinator), seconds: config.heartbeatTimeoutMs / 1000)
        }
        return .readable(Array(ready.dropFirst()))
    }

    private func awaitConfig(_ control: Socket) throws -> Config {
        let deadline = WallClock.monotonicMs() + Int64(options.registrationTimeoutMs)
        let poller = Poller()
        while true {
            if StopSignal.isRequested { throw RuntimeError.interrupted }
            let now = WallClock.monotonicMs()
            if now >= deadline {
                throw RuntimeError.timeout(
                    "no configuration from the coordinator at \(options.coordinator) within "
                        + "\(options.registrationTimeoutMs / 1000) s; is it running and reachable?")
            }
            guard try poller.readable([control], timeoutMs: Int(min(200, deadline - now)))[0],
                let frames = try control.receive(dontWait: true)
            else { continue }
            switch try decodeFromCoordinator(frames) {
            case .config(let config):
                guard config.rank == options.rank else {
                    throw RuntimeError.protocolViolation(
                        "coordinator configured rank \(config.rank), we are \(options.rank)")
                }
                return config
            case .error(let e): throw RuntimeError.refused("coordinator refused worker \(options.rank): \(e.message)")
            case .shutdown(let s): throw RuntimeError.stoppedByCoordinator(reason: s.reason)
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

    /// Drops a message that is not a lolpim message at all (bad magic, too short, unknown type or version): a
    /// stray or hostile client that any host can reach, not one of the run's processes. The run goes on.
    private func dropStranger(_ error: Error, socket: String, peer: String) -> Bool {
        guard let problem = error as? ProtocolError, problem.isForeign else { return false }
        if strangers.record() {
            let n = strangers.count
            let text =
                "worker \(options.rank) dropped \(n == 1 ? "a message" : "message \(n)") on its "
                + "\(socket) socket\(peer) that is not a lolpim message (\(problem)); the run goes on"
            logger.warning("\(text)")
        }
        return true
    }

    /// Times one micro-batch and forwards it. A message that is not a lolpim message is dropped (a stray
    /// client); an invalid lolpim data message is reported to the coordinator (the data stream can no longer be
    /// trusted, so the coordinator aborts the run). With tensor parallelism the worker carries the offers of its
    /// group (`StageSimulator.prepare` / `complete`): one message to each other member, and one from each.
    private func handleData(
        _ frames: [Message], stage: inout StageSimulator, bytesPerRequest: Int,
        session: inout Session
    ) throws {
        guard let (header, payload) = try acceptData(frames, session: session) else { return }
        wall.dataLatency.record(ns: Int64(bitPattern: WallClock.realtimeNs() &- header.wallSendNs))
        if let slow = stage.warmUp(contexts: header.entries.map { Int($0.context) }) {
            session.working = true
            defer { session.working = false }
            try whileServicing(&session, slow)
        }
        let prepared: StageSimulator.Prepared
        do {
            prepared = try stage.prepare(
                header.transit, entries: header.entries, payloadBytes: Int64(header.entries.count * bytesPerRequest),
                microBatch: Int(header.microBatch), step: Int(header.step))
        } catch {
            let text = "worker \(options.rank): KV allocation failed for micro-batch \(header.microBatch): \(error)"
            try reportError(text, on: session.control)
            throw RuntimeError.aborted(text)
        }
        let key = CollectiveHeader.Key(microBatch: header.microBatch, step: header.step)
        for (peer, offer) in prepared.offers.enumerated() {
            guard let offer else { continue }
            try send(offer, key: key, from: stage.member, to: peer, session: session)
        }
        let output = try compute(header, payload, key: key, stage: stage, session: &session)
        let received = prepared.offers.isEmpty ? [] : try awaitOffers(key, member: stage.member, session: &session)
        let outcome: StageSimulator.Outcome
        do {
            outcome = try stage.complete(prepared, received: received, entries: header.entries)
        } catch {
            let text =
                "worker \(options.rank) got collective messages that do not fit micro-batch \(key.microBatch) "
                + "step \(key.step): \(error)"
            try? reportError(text, on: session.control)
            throw RuntimeError.protocolViolation(text)
        }
        session.handled += 1
        guard let transit = outcome.transit, let downstream = session.downstream else { return }
        var next = header
        next.transit = transit
        next.wallSendNs = WallClock.realtimeNs()
        let out = WireCodec.encode(.microBatch(next, payload: output ?? payload))
        let outSize = out.totalBytes
        guard try downstream.send(out) else {
            throw RuntimeError.timeout(
                "worker \(options.rank) could not hand micro-batch \(header.microBatch) to the "
                    + "next stage: downstream not accepting")
        }
        wall.sent(bytes: outSize)
    }

    /// A data message's micro-batch and activation, or nil when it was dropped (not a lolpim message) or refused
    /// (reported to the coordinator).
    private func acceptData(_ frames: [Message], session: Session) throws -> (MicroBatchHeader, Message)? {
        wall.received(bytes: frames.totalBytes)
        let peer = frames.first?.property("Peer-Address").map { " from \($0)" } ?? ""
        do {
            guard case .microBatch(let h, let p) = try WireCodec.decode(frames) else {
                throw ProtocolError.malformedBody(type: "data", reason: "only micro-batches belong on the data socket")
            }
            let expected = Self.payloadBytes(h.entries, session: session)
            guard p.count == expected else { throw ProtocolError.payloadSize(expected: expected, got: p.count) }
            return (h, p)
        } catch {
            if dropStranger(error, socket: "data", peer: peer) { return nil }
            let text = "worker \(options.rank) refused a message on its data socket\(peer): \(error)"
            logger.error("\(text)")
            try reportError(text, on: session.control)
            return nil
        }
    }

    /// Bytes of a micro-batch's payload: the timing's activation (hidden × 2 B per request, zeros), or in a
    /// functional run the entries' tokens' hidden states in the run's arithmetic (`ValueFrames`).
    private static func payloadBytes(_ entries: [MicroBatchHeader.Entry], session: Session) -> Int {
        let model = session.config.topology.model
        guard let f = session.functional else { return entries.count * model.activationBytesPerRequest }
        return entries.reduce(0) { $0 + FunctionalStage.tokens($1) } * f.hidden * f.arithmetic.wireBytes
    }

    /// A functional run's computation of a micro-batch (nil when the run is timing only): the payload's values
    /// through this module's layers, every all-reduce exchanged with the group (`allReduce`); returns the payload
    /// to send on (hidden states, or the last stage's logits as 32-bit floats).
    private func compute(
        _ header: MicroBatchHeader, _ payload: Message, key: CollectiveHeader.Key, stage: StageSimulator,
        session: inout Session
    ) throws -> Message? {
        guard var functional = session.functional else { return nil }
        let bytes = functional.arithmetic.wireBytes
        let counts = header.entries.map { FunctionalStage.tokens($0) * functional.hidden }
        guard let inputs = ValueFrames.decode(payload, counts: counts, bytesPerValue: bytes) else {
            throw RuntimeError.protocolViolation("worker \(options.rank): a functional payload of the wrong size")
        }
        let outputs: [[Float]]
        do {
            outputs = try functional.compute(
                entries: header.entries, inputs: inputs, allocator: stage.allocator
            ) { index, partial, exact in
                try allReduce(
                    partial, key: .init(step: key, index: UInt32(index)), exact: exact, member: stage.member,
                    session: &session)
            }
        } catch let error as FunctionalError {
            let text = "worker \(options.rank), micro-batch \(key.microBatch) step \(key.step): \(error)"
            try? reportError(text, on: session.control)
            throw RuntimeError.aborted(text)
        }
        session.functional = functional
        return ValueFrames.encode(outputs, bytesPerValue: functional.producesLogits ? 4 : bytes)
    }

    /// One all-reduce of a functional run: this member's partial sums to every other member of the group, theirs
    /// awaited (heartbeats going, bounded by the heartbeat time-out), and the sum of all, member by member in order
    /// (`FunctionalStage.sum`), the same on every member.
    private func allReduce(
        _ partial: [Float], key: PartialSumsHeader.Key, exact: Bool, member: Int, session: inout Session
    ) throws -> [Float] {
        let bytes = exact ? 4 : session.functional!.arithmetic.wireBytes
        let header = PartialSumsHeader(key: key, sender: UInt32(member), exact: exact)
        // Encoded once; every peer but the last gets its own copy (a send takes the frame).
        let values = ValueFrames.encode([partial], bytesPerValue: bytes)
        let last = session.group.lastIndex { $0 != nil }
        for (peer, socket) in session.group.enumerated() {
            guard let socket else { continue }
            let frames = WireCodec.encode(
                .partialSums(header, payload: peer == last ? values : Message(values.bytes)))
            guard try socket.send(frames) else {
                throw RuntimeError.timeout(
                    "worker \(options.rank) could not send its partial sums to member \(peer) of its group within "
                        + "\(session.config.heartbeatTimeoutMs / 1000) s")
            }
            wall.sent(bytes: frames.totalBytes)
        }
        let others = Set(session.group.indices.filter { $0 != member })
        try awaitGroup(
            member: member, session: &session,
            what: "the partial sums of all-reduce \(key.index) "
                + "(micro-batch \(key.step.microBatch), step \(key.step.step))"
        ) { others.isSubset(of: Set(($0.partials[key] ?? [:]).keys)) }
        let arrived = session.partials.removeValue(forKey: key) ?? [:]
        let all = session.group.indices.map { $0 == member ? partial : arrived[$0]! }
        guard all.allSatisfy({ $0.count == partial.count }) else {
            throw RuntimeError.protocolViolation(
                "worker \(options.rank): a group member's partial sums for all-reduce \(key.index) have the wrong size")
        }
        return FunctionalStage.sum(all)
    }

    /// Sends member `peer` this member's offer for a micro-batch step, as one message: the header, and the chunks
    /// end to end in one frame. The chunks stand in for partial sums: their sizes are real, their bytes zero
    /// (one zeroed buffer, so that sending them costs no fill).
    private func send(
        _ offer: StageSimulator.Offer, key: CollectiveHeader.Key, from member: Int, to peer: Int, session: Session
    ) throws {
        let payload = Message.zeros(count: Int(offer.bytes))
        let header = CollectiveHeader(
            key: key, sender: UInt32(member), chunks: UInt32(offer.chunks), state: offer.state)
        let frames = WireCodec.encode(.collective(header, payload: payload))
        let size = frames.totalBytes
        guard let socket = session.group[peer], try socket.send(frames) else {
            throw RuntimeError.timeout(
                "worker \(options.rank) could not send its collective message to member "
                    + "\(peer) of its group within \(session.config.heartbeatTimeoutMs / 1000) s")
        }
        wall.sent(bytes: size)
    }

    /// Waits (heartbeats going, bounded by the heartbeat time-out) until every other member's offer for `key` is
    /// here; offers for later micro-batches that arrive meanwhile are kept for their turn. Returns the offers by
    /// member index (nil for this one).
    private func awaitOffers(
        _ key: CollectiveHeader.Key, member: Int, session: inout Session
    ) throws -> [StageSimulator.Offer?] {
        let others = Set(session.group.indices.filter { $0 != member })
        try awaitGroup(
            member: member, session: &session,
            what: "the collective messages (micro-batch \(key.microBatch), step \(key.step))"
        ) { others.isSubset(of: Set(($0.early[key] ?? [:]).keys)) }
        let arrived = session.early.removeValue(forKey: key) ?? [:]
        return session.group.indices.map { arrived[$0] }
    }

    /// Waits (heartbeats going, bounded by the heartbeat time-out) until `done` holds, taking the group's messages
    /// as they arrive; `what` names what is awaited in the time-out's message.
    private func awaitGroup(
        member: Int, session: inout Session, what: String, until done: (Session) -> Bool
    ) throws {
        let others = Set(session.group.indices.filter { $0 != member })
        let deadline = WallClock.monotonicMs() + Int64(session.config.heartbeatTimeoutMs)
        while !done(session) {
            if WallClock.monotonicMs() > deadline {
                throw RuntimeError.timeout(
                    "worker \(options.rank) waited \(session.config.heartbeatTimeoutMs / 1000) s for \(what) "
                        + "from its group")
            }
            guard case .readable(let ready) = try service(&session, also: [session.tp]) else {
                throw RuntimeError.protocolViolation(
                    "the coordinator asked for statistics while worker \(options.rank) "
                        + "was inside a collective")
            }
            if ready[0] { try receiveGroup(others: others, session: &session) }
        }
    }

    /// Takes every message waiting on the tensor-parallel socket: collective messages (once per micro-batch step)
    /// and a functional run's partial sums (once per all-reduce), each from another member of the group.
    private func receiveGroup(others: Set<Int>, session: inout Session) throws {
        while let frames = try session.tp.receive(dontWait: true) {
            wall.received(bytes: frames.totalBytes)
            let peer = frames.first?.property("Peer-Address").map { " from \($0)" } ?? ""
            let decoded = Result { try WireCodec.decode(frames) }
            if case .failure(let error) = decoded, dropStranger(error, socket: "tensor-parallel", peer: peer) {
                continue
            }
            if case .success(.partialSums(let h, let payload)) = decoded, others.contains(Int(h.sender)),
                session.functional != nil, session.partials[h.key]?[Int(h.sender)] == nil
            {
                let bytes = h.exact ? 4 : session.functional!.arithmetic.wireBytes
                let values = ValueFrames.decode(payload, counts: [payload.count / bytes], bytesPerValue: bytes)
                session.partials[h.key, default: [:]][Int(h.sender)] = values?.first ?? []
                continue
            }
            guard case .success(.collective(let h, let payload)) = decoded,
                others.contains(Int(h.sender)), session.early[h.key]?[Int(h.sender)] == nil
            else {
                let why = (try? decoded.get()) == nil ? "\(decoded)" : "not from another member, or a second one"
                let text =
                    "worker \(options.rank) refused a message on its tensor-parallel socket\(peer): not a "
                    + "collective message of its group (\(why))"
                try? reportError(text, on: session.control)
                throw RuntimeError.protocolViolation(text)
            }
            session.early[h.key, default: [:]][Int(h.sender)] = StageSimulator.Offer(
                state: h.state, chunks: Int(h.chunks), bytes: Int64(payload.count))
        }
    }

    /// Kernel buffer of the group sockets, bytes: a micro-batch's collective message is megabytes, and larger
    /// buffers move it in fewer wake-ups.
    static let collectiveSocketBuffer: Int32 = 4 << 20

    private func send(_ message: WireMessage, on socket: Socket) throws {
        try send(WireCodec.encode(message), kind: message.kind, on: socket)
    }

    /// Sends a message already encoded (`kind` names it in the error).
    private func send(_ frames: [Message], kind: WireMessage.Kind, on socket: Socket) throws {
        let size = frames.totalBytes
        guard try socket.send(frames) else {
            throw RuntimeError.timeout("worker \(options.rank) could not send a \(kind) message to the coordinator")
        }
        wall.sent(bytes: size)
    }
}

/// The software version announced in hello messages.
public enum LolpimVersion {
    public static let string = "lolpim 0.1.0 (protocol \(WireCodec.version))"
}

/// A report's frames, handed from the thread that encodes them to the worker's thread.
private final class EncodedReport: @unchecked Sendable {
    private let lock = NSLock()
    private var frames: [[UInt8]] = []

    func set(_ value: [[UInt8]]) { lock.withLock { frames = value } }
    func get() -> [[UInt8]] { lock.withLock { frames } }
}
