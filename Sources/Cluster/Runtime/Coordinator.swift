import Foundation
import Logging
import PIMModule
import Pipeline
import Transport
import Workload

/// Options of the coordinator process.
public struct CoordinatorOptions: Sendable {
    /// Control endpoint to bind (ROUTER); workers connect here.
    public var controlBind: String
    /// Endpoint to bind for micro-batches coming back from the last stage; nil derives it from `controlBind`.
    public var returnBind: String?
    /// Topology file path, for the results.
    public var topologyFile: String
    /// Directory results.json is written to.
    public var outputDirectory: String
    /// File to write the bound control endpoint to once listening (how `lolpim run` learns a tcp port).
    public var endpointFile: String?
    /// Label of the transport in the wall-clock section.
    public var transportLabel: String
    public var registrationTimeoutMs = 60_000
    public var heartbeatIntervalMs = 500
    public var heartbeatTimeoutMs = 10_000
    /// Longest wait for any micro-batch to come back before the run is declared stuck, milliseconds.
    public var stallTimeoutMs = 120_000
    /// Print a progress line on stderr.
    public var progress = true
    /// Write a Chrome-trace / Perfetto timeline of the run here.
    public var traceFile: String?
    /// Channel-group tracks per module in the timeline (0: none; see `StageSimulator.channelGroups`).
    public var traceChannelGroups = 0
    /// CURVE keys: encrypt every connection and refuse peers whose key is not authorised (nil: no security,
    /// for loopback runs).
    public var keys: ClusterKeys?
    /// The kernel-timing store the run's lookups are recorded in (`lolpim cache stats`), or off.
    public var kernelStore: KernelStoreChoice = .off
    /// Where `lolpim run` writes why it stops this coordinator (a `ProcessEnd` as JSON) before signalling it.
    public var stopReasonFile: String?
    /// Functional runs: the requests' prompts (nil: drawn, seeded), how tokens are chosen, and where every step's
    /// logits go as `.npy` files (nil: nowhere).
    public var prompts: PromptFile?
    public var sampling = Sampling.greedy
    public var logitsDirectory: String?

    public init(
        controlBind: String, returnBind: String? = nil, topologyFile: String, outputDirectory: String,
        endpointFile: String? = nil, transportLabel: String
    ) {
        self.controlBind = controlBind
        self.returnBind = returnBind
        self.topologyFile = topologyFile
        self.outputDirectory = outputDirectory
        self.endpointFile = endpointFile
        self.transportLabel = transportLabel
    }
}

extension CoordinatorOptions {
    /// `error`, or, when it is the stop signal and the launcher said why it sent it, the launcher's reason.
    func stopReason(instead error: Error) -> Error {
        guard case RuntimeError.interrupted? = error as? RuntimeError, let stopReasonFile,
            let data = FileManager.default.contents(atPath: stopReasonFile),
            let end = try? JSONDecoder().decode(ProcessEnd.self, from: data)
        else { return error }
        return RuntimeError.stoppedByLauncher(end)
    }
}

/// The host: registers the workers, hands each its stage, drives micro-batches through the pipeline, and
/// turns the timing that comes back into results.json. Writes results (marked incomplete) on failure too.
public final class Coordinator {
    let plan: PipelinePlan
    let options: CoordinatorOptions
    let context: Context
    var logger = Logger(label: "lolpim.coordinator")

    /// A registered worker.
    struct Peer {
        var routingId: [UInt8]
        var hello: Hello
        var lastHeard: Int64
        var label: String { "worker \(hello.rank) (\(hello.hostname), pid \(hello.pid))" }
    }

    private var peers: [Int: Peer] = [:]
    private var rankOfRoutingId: [[UInt8]: Int] = [:]
    /// The host's side of the run in simulated time (`HostLoop`): scheduler, host, clock.
    private var loop: HostLoop
    /// Foreign messages (a stray client's bytes) dropped on the return socket.
    private var foreignReturns = ForeignMessages()
    private var wall = WallStats()
    private var stageReports: [Int: StageStats] = [:]
    /// Every worker's timeline, when a trace was asked for (the host's own is the loop's).
    private var workerTimelines: [TimelineEvent] = []
    private var workerWall: [Int: WallStats] = [:]
    private let startMs = WallClock.monotonicMs()
    private var setupMs: Int64 = 0
    /// Where `run` wrote results.json.
    public private(set) var resultsPath: String?
    /// A functional run's host: embeddings in, tokens chosen from the logits that come back (nil: timing only).
    private var functional: FunctionalHost?

    public init(plan: PipelinePlan, options: CoordinatorOptions, context: Context? = nil) throws {
        self.plan = plan
        self.options = options
        self.context = try context ?? Context()
        loop = HostLoop(plan: plan, timeline: options.traceFile != nil)
        if plan.topology.fidelity.functional != nil {
            functional = try FunctionalHost(plan: plan, prompts: options.prompts, sampling: options.sampling)
        }
    }

    /// Runs the whole simulation. On failure, writes the partial results with `complete: false` and
    /// rethrows; the caller exits non-zero.
    @discardableResult
    public func run() throws -> RunResults {
        let zap = try options.keys.map { try $0.authenticator(for: context, logger: logger) }
        defer { zap?.stop() }
        let control = try Socket(context, .router)
        try options.keys.secureServer(control)
        try control.set(.routerMandatory(true))
        // A worker that stops reading must not block the coordinator: sends give up after the heartbeat time-out.
        try control.set(.sendTimeout(Int32(options.heartbeatTimeoutMs)))
        try control.set(.maxMessageSize(64 << 20))
        try control.bind(try Endpoints.bindable(options.controlBind))
        let returns = try Sockets.pull(
            context, bind: options.returnBind ?? Endpoints.returnPath(forControl: control.lastEndpoint),
            keys: options.keys)
        if let file = options.endpointFile {
            try control.lastEndpoint.write(toFile: file, atomically: true, encoding: .utf8)
        }
        let results: RunResults
        do {
            try register(control)
            try configure(control, returnEndpoint: returns.lastEndpoint)
            setupMs = WallClock.monotonicMs() - startMs
            try simulate(control, returns)
            try collectStats(control)
            results = makeResults(complete: true, error: nil)
            resultsPath = try results.write(to: options.outputDirectory)
            options.kernelStore.store?.recordRun(
                command: "run \(options.topologyFile)",
                hits: results.wallclock.kernelStoreHits,
                misses: results.wallclock.kernelStoreMisses)
        } catch {
            // Stopped by `lolpim run` because a process of the run ended: that ending is the cause.
            let cause = options.stopReason(instead: error)
            broadcast(.shutdown(Shutdown(reason: "\(cause)")), on: control)
            let partial = makeResults(complete: false, error: "\(cause)")
            resultsPath = try? partial.write(to: options.outputDirectory)
            throw cause
        }
        // The results are complete and written; a timeline that cannot be written does not unmake them.
        if let trace = options.traceFile {
            do {
                try ChromeTrace.json((loop.host.timeline ?? []) + workerTimelines).write(
                    to: URL(fileURLWithPath: trace), options: .atomic)
            } catch {
                let results = resultsPath ?? options.outputDirectory
                throw RuntimeError.aborted(
                    "the run finished and its results are in \(results), "
                        + "but the timeline could not be written to \(trace): "
                        + "\(error.localizedDescription)")
            }
        }
        return results
    }

    // MARK: Phases

    private func register(_ control: Socket) throws {
        let expected = plan.workers
        let deadline = WallClock.monotonicMs() + Int64(options.registrationTimeoutMs)
        var refusals: [String] = []
        while peers.count < expected {
            try checkStop()
            let now = WallClock.monotonicMs()
            if now >= deadline {
                let missing = (0..<expected).filter { peers[$0] == nil }
                var text =
                    "\(missing.count) of \(expected) workers never registered within "
                    + "\(options.registrationTimeoutMs / 1000) s (missing ranks: \(Self.list(missing)))"
                if !refusals.isEmpty { text += "; refused: " + refusals.joined(separator: "; ") }
                throw RuntimeError.timeout(text)
            }
            guard try Poller().readable([control], timeoutMs: Int(min(200, deadline - now)))[0] else { continue }
            while let received = try receiveControl(control, refusals: &refusals) {
                guard case .hello(let hello)? = received.message else { continue }
                let id = received.id
                let label = "worker \(hello.rank) (\(hello.hostname), pid \(hello.pid))"
                if !(0..<expected).contains(hello.rank) {
                    refusals.append("\(label): rank outside 0…\(expected - 1)")
                    reply(
                        .error(
                            ErrorReport(
                                rank: nil,
                                message: "rank \(hello.rank) is outside 0…\(expected - 1) "
                                    + "for this \(expected)-module topology")), to: id, on: control)
                } else if let existing = peers[hello.rank] {
                    refusals.append("\(label): rank already taken by \(existing.label)")
                    reply(
                        .error(
                            ErrorReport(
                                rank: nil,
                                message: "rank \(hello.rank) is already registered by "
                                    + existing.label)), to: id, on: control)
                } else {
                    peers[hello.rank] = Peer(routingId: id, hello: hello, lastHeard: WallClock.monotonicMs())
                    rankOfRoutingId[id] = hello.rank
                    logger.debug("registered \(label) at \(hello.dataEndpoint)")
                }
            }
        }
    }

    private func configure(_ control: Socket, returnEndpoint: String) throws {
        let tp = plan.topology.parallelism.tp
        for rank in 0..<plan.workers {
            // Member m of a stage sends on to member m of the next stage; member 0 of the last, to the host.
            let (stage, member) = plan.position(rank: rank)
            let downstream =
                stage + 1 < plan.stages.count
                ? peers[rank + tp]!.hello.dataEndpoint
                : member == 0 ? returnEndpoint : nil
            let group = (0..<tp).map { peers[stage * tp + $0]!.hello.tpEndpoint }
            let config = Config(
                rank: rank, topology: plan.topology, downstream: downstream, group: group,
                heartbeatIntervalMs: options.heartbeatIntervalMs,
                heartbeatTimeoutMs: options.heartbeatTimeoutMs,
                recordTimeline: options.traceFile != nil,
                timelineChannelGroups: options.traceFile != nil ? options.traceChannelGroups : nil)
            try sendControl(.config(config), to: rank, on: control)
        }
        var ready = Set<Int>()
        let deadline = WallClock.monotonicMs() + Int64(options.registrationTimeoutMs)
        var refusals: [String] = []
        var nextHeartbeat = WallClock.monotonicMs()
        while ready.count < plan.workers {
            try checkStop()
            let now = WallClock.monotonicMs()
            // Configured workers start watching our heartbeats while slower ones are still connecting.
            heartbeatIfDue(&nextHeartbeat, now: now, on: control)
            if now >= deadline {
                let missing = (0..<plan.workers).filter { !ready.contains($0) }
                throw RuntimeError.timeout("workers \(Self.list(missing)) did not confirm their configuration")
            }
            guard try Poller().readable([control], timeoutMs: Int(min(100, deadline - now)))[0] else { continue }
            while let received = try receiveControl(control, refusals: &refusals) {
                if case .ready(let r)? = received.message, rankOfRoutingId[received.id] == r.rank {
                    ready.insert(r.rank)
                }
            }
        }
    }

    private func simulate(_ control: Socket, _ returns: Socket) throws {
        // One PUSH per member of stage 0: each gets the micro-batch.
        let data = try (0..<plan.topology.parallelism.tp).map { member in
            try Sockets.push(
                context, connect: peers[member]!.hello.dataEndpoint, keys: options.keys,
                sendTimeoutMs: options.heartbeatTimeoutMs)
        }
        let progress = ProgressLine(enabled: options.progress, total: plan.generatedTokens)
        /// The step each micro-batch has in flight.
        var inFlight: [Int: BatchScheduler.Injection] = [:]
        for send in try hostStep({ try loop.start() }) {
            try inject(send, payload: nil, on: data)
            inFlight[send.injection.microBatch] = send.injection
        }
        var lastProgressMs = WallClock.monotonicMs()
        var nextHeartbeat = lastProgressMs
        var refusals: [String] = []
        while !loop.finished {
            try checkStop()
            guard !inFlight.isEmpty else {
                throw RuntimeError.aborted("internal error: requests remain but nothing is in flight")
            }
            let now = WallClock.monotonicMs()
            if heartbeatIfDue(&nextHeartbeat, now: now, on: control) { try checkPeersAlive(now: now) }
            if now - lastProgressMs > Int64(options.stallTimeoutMs) {
                throw RuntimeError.timeout(
                    "no micro-batch came back for \(options.stallTimeoutMs / 1000) s "
                        + "(waiting for micro-batches \(Self.list(inFlight.keys.sorted())))")
            }
            let ready = try Poller().readable([control, returns], timeoutMs: Int(max(1, nextHeartbeat - now)))
            if ready[0] {
                while let received = try receiveControl(control, refusals: &refusals) {
                    // A worker still timing a micro-batch (`busy`) is progress: the stall time-out waits.
                    if case .busy? = received.message { lastProgressMs = WallClock.monotonicMs() }
                }
            }
            guard ready[1] else { continue }
            if try takeReturns(returns, inFlight: &inFlight, data: data) {
                lastProgressMs = WallClock.monotonicMs()
                progress.update(completed: loop.scheduler.stats.tokenLatencies.count, simulatedPs: loop.makespan)
            }
        }
        progress.finish()
    }

    /// Takes every micro-batch waiting on the return socket back into the host loop and sends what it releases
    /// next; returns whether any came back.
    private func takeReturns(
        _ returns: Socket, inFlight: inout [Int: BatchScheduler.Injection], data: [Socket]
    ) throws -> Bool {
        var any = false
        while let frames = try returns.receive(dontWait: true) {
            wall.received(bytes: frames.totalBytes)
            let peer = frames.first?.property("Peer-Address").map { " from \($0)" } ?? ""
            guard let (header, payload, returned) = try validateReturn(frames, inFlight: inFlight, peer: peer)
            else { continue }
            wall.dataLatency.record(ns: Int64(bitPattern: WallClock.realtimeNs() &- header.wallSendNs))
            inFlight[returned.microBatch] = nil
            any = true
            if functional != nil {
                let counts = Array(repeating: plan.topology.model.vocab, count: returned.entries.count)
                functional!.returned(
                    returned.entries, logits: ValueFrames.decode(payload, counts: counts, bytesPerValue: 4)!)
            }
            for send in try hostStep({ try loop.returned(returned, transit: header.transit) }) {
                // The activation that came back is reused (moved, not copied) when its size still fits.
                let reuse =
                    functional == nil && send.injection.microBatch == returned.microBatch
                    && send.payloadBytes == payload.count
                try inject(send, payload: reuse ? payload : nil, on: data)
                inFlight[send.injection.microBatch] = send.injection
            }
        }
        return any
    }

    /// Asks every worker for its statistics and waits for them. A worker may take a while to prepare its
    /// report (a long run's timeline is millions of events); it keeps sending heartbeats meanwhile, and so does
    /// the coordinator, so only a worker silent for the heartbeat time-out ends the wait.
    private func collectStats(_ control: Socket) throws {
        broadcast(.finish(Finish(microBatches: loop.sent)), on: control)
        let finishSent = WallClock.monotonicMs()
        for rank in peers.keys { peers[rank]!.lastHeard = max(peers[rank]!.lastHeard, finishSent) }
        var nextHeartbeat = finishSent + Int64(options.heartbeatIntervalMs)
        var refusals: [String] = []
        while stageReports.count < plan.workers {
            try checkStop()
            let now = WallClock.monotonicMs()
            heartbeatIfDue(&nextHeartbeat, now: now, on: control)
            let missing = (0..<plan.workers).filter { stageReports[$0] == nil }
            if missing.contains(where: {
                now - (peers[$0]?.lastHeard ?? finishSent) > Int64(options.heartbeatTimeoutMs)
            }) {
                throw RuntimeError.timeout(
                    "workers \(Self.list(missing)) did not send their statistics (silent for "
                        + "\(options.heartbeatTimeoutMs / 1000) s)")
            }
            guard try Poller().readable([control], timeoutMs: Int(max(1, min(200, nextHeartbeat - now))))[0] else {
                continue
            }
            while let received = try receiveControl(control, refusals: &refusals) {
                if case .stats(let report)? = received.message, rankOfRoutingId[received.id] == report.rank {
                    stageReports[report.rank] = report.stage
                    workerWall[report.rank] = report.wall
                    if let timeline = report.timeline { workerTimelines += timeline }
                }
                // Decoding a report with a long timeline takes a while: the workers still encoding theirs
                // must go on hearing from the coordinator.
                heartbeatIfDue(&nextHeartbeat, now: WallClock.monotonicMs(), on: control)
            }
        }
    }

    // MARK: Data path

    /// Sends a micro-batch into stage 0, to each of its members in turn over the host link. The activation is
    /// `payload` (the bytes that came back from the last stage, moved without a copy) or fresh bytes of the
    /// right size.
    private func inject(_ send: HostLoop.Send, payload: Message?, on data: [Socket]) throws {
        let injection = send.injection
        let activation =
            payload
            ?? functional.map {
                ValueFrames.encode($0.inputs(injection.entries), bytesPerValue: $0.arithmetic.wireBytes)
            }
            ?? Message(count: Int(send.payloadBytes)) { buffer in
                // Deterministic content standing in for the embeddings of the requests' last tokens.
                for i in 0..<buffer.count { buffer[i] = UInt8(truncatingIfNeeded: i &* 31 &+ injection.microBatch) }
            }
        for (member, socket) in data.enumerated() {
            let header = MicroBatchHeader(
                microBatch: UInt32(injection.microBatch), step: UInt32(injection.step),
                transit: send.transits[member], wallSendNs: WallClock.realtimeNs(), entries: injection.entries)
            // Every member but the last gets its own copy; the last gets the activation itself.
            let body = member == data.count - 1 ? activation : Message(activation.bytes)
            let frames = WireCodec.encode(.microBatch(header, payload: body))
            let size = frames.totalBytes
            guard try socket.send(frames) else {
                throw RuntimeError.timeout(
                    "stage 0 (\(peers[member]!.label)) did not accept micro-batch \(injection.microBatch) "
                        + "within \(options.heartbeatTimeoutMs / 1000) s")
            }
            wall.sent(bytes: size)
        }
    }

    /// A message from the last stage must be a micro-batch in flight, with its requests intact: the micro-batch
    /// a return message carries and the step it is the return of, or nil for a message that is not a lolpim
    /// message at all
    /// (a stray client: dropped with a warning, the run goes on). Anything else invalid stops the run.
    private func validateReturn(
        _ frames: [Message], inFlight: [Int: BatchScheduler.Injection],
        peer: String
    ) throws -> (MicroBatchHeader, Message, BatchScheduler.Injection)? {
        let last = plan.stages.last.flatMap { peers[$0.firstRank]?.label } ?? "the last stage"
        let decoded: WireMessage
        do {
            decoded = try WireCodec.decode(frames)
        } catch  where error.isForeign {
            if foreignReturns.record() {
                let count = foreignReturns.count
                logger.warning("dropped message \(count) on the return socket\(peer): not a lolpim message (\(error))")
            }
            return nil
        } catch {
            throw RuntimeError.protocolViolation("return socket\(peer) (expected \(last)): \(error)")
        }
        guard case .microBatch(let header, let payload) = decoded else {
            throw RuntimeError.protocolViolation(
                "return socket\(peer): a \(decoded.kind) message where only "
                    + "micro-batches belong")
        }
        guard let sent = inFlight[Int(header.microBatch)], Int(header.step) == sent.step,
            header.entries == sent.entries, payload.count == returnBytes(sent.entries.count)
        else {
            throw RuntimeError.protocolViolation(
                "return socket\(peer): micro-batch \(header.microBatch) step "
                    + "\(header.step) is not one in flight")
        }
        return (header, payload, sent)
    }

    /// Bytes the last stage returns for a micro-batch of `requests`: the activation (timing only), or every
    /// request's logits as 32-bit floats (functional).
    private func returnBytes(_ requests: Int) -> Int {
        let model = plan.topology.model
        return requests * (functional == nil ? model.activationBytesPerRequest : model.vocab * 4)
    }

    // MARK: Control path

    /// Receives one control message if one is waiting. Heartbeats refresh the sender; errors from workers
    /// abort the run; invalid messages from unknown peers are refused with an error reply and a warning;
    /// invalid messages from registered workers abort the run.
    private func receiveControl(_ control: Socket, refusals: inout [String]) throws -> Received? {
        guard let frames = try control.receive(dontWait: true), frames.count >= 1 else { return nil }
        let id = frames[0].bytes
        let body = Array(frames.dropFirst())
        wall.received(bytes: body.totalBytes)
        let rank = rankOfRoutingId[id]
        let sender =
            rank.flatMap { peers[$0]?.label }
            ?? "unregistered peer '\(SafeText.clip(String(decoding: id, as: UTF8.self), limit: 64))'"
            + (frames[0].property("Peer-Address").map { " at \(SafeText.clip($0, limit: 100))" } ?? "")
        let message: WireMessage
        do {
            message = try WireCodec.decode(body)
        } catch {
            if rank != nil {
                throw RuntimeError.protocolViolation("\(sender) sent an invalid control message: \(error)")
            }
            logger.warning("refused a message from \(sender): \(error)")
            refusals.append("\(sender): \(error)")
            reply(.error(ErrorReport(rank: nil, message: "refused: \(error)")), to: id, on: control)
            return Received(id: id, message: nil)
        }
        if let rank { peers[rank]?.lastHeard = WallClock.monotonicMs() }
        if case .error(let report) = message {
            // Only a registered worker can stop the run; a stranger's error report is noted and ignored.
            guard rank != nil else {
                logger.warning("ignored an error report from \(sender): \(report.message)")
                return Received(id: id, message: nil)
            }
            throw RuntimeError.aborted("\(sender) reported: \(report.message)")
        }
        return Received(id: id, message: message)
    }

    /// One message from the control socket: its sender's routing id and the message, or nil when the
    /// message was refused or ignored.
    struct Received {
        var id: [UInt8]
        var message: WireMessage?
    }

    /// Sends every worker a heartbeat when `next` has come, and schedules the next one; returns whether it did.
    @discardableResult
    private func heartbeatIfDue(_ next: inout Int64, now: Int64, on control: Socket) -> Bool {
        guard now >= next else { return false }
        broadcast(.heartbeat, on: control)
        next = now + Int64(options.heartbeatIntervalMs)
        return true
    }

    private func checkPeersAlive(now: Int64) throws {
        for rank in peers.keys.sorted() {
            let peer = peers[rank]!
            if now - peer.lastHeard > Int64(options.heartbeatTimeoutMs) {
                throw RuntimeError.peerSilent(
                    .worker(rank: rank, host: peer.hello.hostname, pid: peer.hello.pid),
                    seconds: options.heartbeatTimeoutMs / 1000)
            }
        }
    }

    private func sendControl(_ message: WireMessage, to rank: Int, on control: Socket) throws {
        let frames = [Message(peers[rank]!.routingId)] + WireCodec.encode(message)
        // Counted before sending: libzmq takes the frames' content.
        let size = frames.dropFirst().totalBytes
        guard try control.send(frames) else {
            throw RuntimeError.timeout(
                "\(peers[rank]!.label) did not take a \(message.kind) message within "
                    + "\(options.heartbeatTimeoutMs / 1000) s")
        }
        wall.sent(bytes: size)
    }

    /// Best-effort message to every registered worker (a worker that is gone is skipped).
    private func broadcast(_ message: WireMessage, on control: Socket) {
        for rank in peers.keys.sorted() { try? sendControl(message, to: rank, on: control) }
    }

    private func reply(_ message: WireMessage, to id: [UInt8], on control: Socket) {
        _ = try? control.send([Message(id)] + WireCodec.encode(message), dontWait: true)
    }

    private func checkStop() throws {
        if StopSignal.isRequested { throw RuntimeError.interrupted }
    }

    // MARK: Results

    private func makeResults(complete: Bool, error: String?) -> RunResults {
        let builder = ResultsBuilder(plan: plan)
        let simulated = loop.simulated(stages: Array(stageReports.values))
        var total = wall
        for w in workerWall.values { total.merge(w) }
        let now = WallClock.monotonicMs()
        let seconds = Double(now - startMs) / 1000
        let visits = simulated.stages.reduce(Int64(0)) { $0 + $1.microBatches }
        let wallclock = WallclockResults(
            transport: options.transportLabel, libzmqVersion: Context.libraryVersion, workers: plan.workers,
            runSeconds: seconds, setupSeconds: Double(setupMs) / 1000,
            simulatedTokensPerWallSecond: seconds > 0 ? Double(simulated.generatedTokens) / seconds : 0,
            stageVisitsPerWallSecond: seconds > 0 ? Double(visits) / seconds : 0,
            messagesSent: total.messagesSent, bytesSent: total.bytesSent,
            kernelStoreHits: total.kernelStoreHits, kernelStoreMisses: total.kernelStoreMisses,
            dataMessageLatency: LatencyReport(total.dataLatency))
        return RunResults(
            complete: complete, error: error, topology: builder.topologyInfo(file: options.topologyFile),
            simulated: simulated, wallclock: wallclock, functional: functionalResults(complete: complete))
    }

    /// The functional section, compared with the reference decoder when the run is complete; every request's logits
    /// written to `--logits` as `.npy` files.
    private func functionalResults(complete: Bool) -> FunctionalResults? {
        guard let functional else { return nil }
        var reference: ReferenceDecoder?
        if complete, let directory = plan.topology.model.checkpoint {
            do {
                reference = try ReferenceDecoder(checkpoint: HFCheckpoint(directory: directory))
            } catch {
                logger.error("the reference decoder could not read \(directory): \(error)")
            }
        }
        if let dir = options.logitsDirectory {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for (i, r) in functional.requests.enumerated() {
                    try LogitFiles.npy(r.logits).write(to: URL(fileURLWithPath: dir + "/request-\(i).npy"))
                }
            } catch {
                logger.error("the logits could not be written to \(dir): \(error)")
            }
        }
        return functional.results(reference: reference)
    }

    /// A step of the host loop, its errors as the runtime reports them.
    private func hostStep(_ step: () throws -> [HostLoop.Send]) throws(RuntimeError) -> [HostLoop.Send] {
        do {
            return try step()
        } catch let error as SimulatedTimeLimitExceeded {
            throw .simulatedTimeLimit(error.description)
        } catch {
            throw .aborted("\(error)")
        }
    }

    static func list(_ ranks: [Int]) -> String {
        ranks.count <= 12
            ? ranks.map(String.init).joined(separator: ", ")
            : ranks.prefix(12).map(String.init).joined(separator: ", ") + ", … (\(ranks.count) in all)"
    }
}
