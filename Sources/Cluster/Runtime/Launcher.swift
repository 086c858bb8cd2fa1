import Foundation
import Logging
import Pipeline
import Transport

/// `lolpim run`: starts a coordinator and one worker per module and waits for them.
/// With `inproc` they are threads of this process sharing one ZeroMQ context; with `ipc` or `tcp` they are
/// separate OS processes (this executable, re-run as `lolpim coordinator` and `lolpim worker`). With
/// `remote` set, the coordinator runs here and each worker on its host through a remote shell (ssh).
public struct Launcher {
    public var topologyFile: String
    public var transport: TransportKind
    public var outputDirectory: String
    /// TCP port of the coordinator's control socket; 0 picks a free one.
    public var port: Int = 0
    public var progress = true
    public var registrationTimeoutMs = 60_000
    public var heartbeatTimeoutMs = 10_000
    /// Chrome-trace / Perfetto timeline file to write.
    public var traceFile: String?
    /// Channel-group tracks per module in the timeline (0: none).
    public var traceChannelGroups = 0
    /// Grace period for processes to exit after the coordinator, milliseconds.
    public var exitGraceMs = 5_000
    /// CURVE keys every process uses (ipc and tcp only).
    public var keys: ClusterKeys?
    /// Workers on other machines (tcp only); nil: every process on this machine.
    public var remote: RemoteWorkers?
    /// Log level passed to the processes started.
    public var logLevel: String?
    /// The kernel-timing store of this host, for the coordinator and the local workers; workers on other
    /// hosts use their own host's default store (or none, when this is off).
    public var kernelStore: KernelStoreChoice = .off
    /// What the worker threads of an `inproc` run reuse from each other (kernels being simulated, group replays); a
    /// study that runs several points at once hands every launcher the same one. Results never depend on it.
    public var caches = ProcessCaches()
    /// A functional run's prompts, sampling and logits directory (`CoordinatorOptions`), and the same as the
    /// coordinator process's command-line options (`lolpim coordinator --functional …`).
    public var functional: (configure: @Sendable (inout CoordinatorOptions) -> Void, arguments: [String])?

    public init(topologyFile: String, transport: TransportKind, outputDirectory: String) {
        self.topologyFile = topologyFile
        self.transport = transport
        self.outputDirectory = outputDirectory
    }

    /// Runs and returns the results (read back from results.json for process runs). Throws on failure,
    /// after every process it started has stopped.
    public func run(plan: PipelinePlan) throws -> (RunResults, String) {
        if keys != nil && transport == .inproc {
            throw RuntimeError.refused(
                "--keys needs separate processes (--transport ipc or tcp); inproc threads share one process")
        }
        if remote != nil && transport != .tcp {
            throw RuntimeError.refused("workers on other hosts need --transport tcp")
        }
        try ResourceCheck(workers: plan.workers, tp: plan.topology.parallelism.tp, inProcess: transport == .inproc)
            .enforce(localWorkers: remote == nil)
        // The output directory and the timeline's directory are made ready (and locked) before anything runs.
        let output = try OutputDirectory.acquire(outputDirectory, traceFile: traceFile)
        defer { output.release() }
        switch transport {
        case .inproc: return try runInProcess(plan: plan)
        case .ipc, .tcp: return try runProcesses(workers: plan.workers)
        }
    }

    private func coordinatorOptions(control: String) -> CoordinatorOptions {
        var options = CoordinatorOptions(
            controlBind: control, topologyFile: topologyFile,
            outputDirectory: outputDirectory, transportLabel: transport.rawValue)
        options.registrationTimeoutMs = registrationTimeoutMs
        options.heartbeatTimeoutMs = heartbeatTimeoutMs
        options.progress = progress
        options.traceFile = traceFile
        options.traceChannelGroups = traceChannelGroups
        options.keys = keys
        options.kernelStore = kernelStore
        functional?.configure(&options)
        return options
    }

    // MARK: Threads

    private func runInProcess(plan: PipelinePlan) throws -> (RunResults, String) {
        // Every worker thread has its control, data, downstream and TP sockets and one per group peer.
        let context = try Context(maxSockets: max(1023, plan.workers * (plan.topology.parallelism.tp + 4) + 64))
        let control = "inproc://lolpim-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/control"
        let coordinator = try Coordinator(plan: plan, options: coordinatorOptions(control: control), context: context)
        // The coordinator binds inside run(); workers retry their connect until it exists (inproc allows
        // connect-before-bind since libzmq 4.2), so the order does not matter.
        let failures = WorkerFailures()
        var threads: [Thread] = []
        for rank in 0..<plan.workers {
            let options = WorkerOptions(
                coordinator: control, rank: rank, registrationTimeoutMs: registrationTimeoutMs,
                kernelStore: kernelStore, caches: caches)
            let thread = Thread {
                do {
                    try Worker(options: options, context: context).run()
                } catch {
                    failures.record(rank: rank, error: error)
                }
                failures.done()
            }
            thread.stackSize = 1 << 20
            threads.append(thread)
        }
        threads.forEach { $0.start() }
        let outcome = Result { try coordinator.run() }
        if case .failure = outcome { context.shutdown() }  // unblocks workers still waiting to register
        failures.waitAll(count: threads.count, timeoutMs: exitGraceMs + heartbeatTimeoutMs)
        let results = try outcome.get()
        return (results, coordinator.resultsPath ?? outputDirectory)
    }

    // MARK: Processes

    private func runProcesses(workers: Int) throws -> (RunResults, String) {
        Self.removeStaleRunDirectories()
        let runDirectory = NSTemporaryDirectory() + "lolpim-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: runDirectory) }
        let endpointFile = runDirectory + "/coordinator.endpoint"
        let reasonFile = runDirectory + "/stop-reason.json"
        let control =
            remote.map { "tcp://\($0.coordinatorAddress):\(port == 0 ? "*" : String(port))" }
            ?? Endpoints.control(transport, runDirectory: runDirectory, port: port)

        let children = ChildProcesses()
        try children.spawn(
            .coordinator, executable: Self.executablePath(),
            coordinatorArguments(control: control, endpointFile: endpointFile, reasonFile: reasonFile))
        let endpoint = try waitForEndpoint(children, file: endpointFile)
        try startWorkers(workers, endpoint: endpoint, children)
        let supervision = superviseUntilCoordinatorEnds(children, reasonFile: reasonFile)
        children.stopStragglers(graceMs: exitGraceMs)
        return try outcome(children, supervision)
    }

    private func coordinatorArguments(control: String, endpointFile: String, reasonFile: String) -> [String] {
        var arguments = [
            "coordinator", topologyFile, "--bind", control, "--output", outputDirectory,
            "--endpoint-file", endpointFile, "--transport-label", transport.rawValue, "--no-summary",
            "--registration-timeout", "\(registrationTimeoutMs / 1000)",
            "--heartbeat-timeout", "\(heartbeatTimeoutMs / 1000)", "--stop-reason-file", reasonFile,
        ]
        if !progress { arguments.append("--quiet") }
        if let traceFile { arguments += ["--trace", traceFile, "--trace-channels", "\(traceChannelGroups)"] }
        return arguments + (functional?.arguments ?? []) + sharedArguments + kernelStore.arguments
            + ["--parent-pid", "\(getpid())"]
    }

    /// Waits for the coordinator to listen: it writes its resolved endpoint (the real tcp port) to a file.
    private func waitForEndpoint(_ children: ChildProcesses, file: String) throws -> String {
        let coordinator = children.coordinator
        let deadline = WallClock.monotonicMs() + Int64(registrationTimeoutMs)
        while true {
            if !coordinator.isRunning {
                coordinator.waitUntilExit()
                let end = children.ending(children.all[0])
                if case .signal = end.cause { throw RuntimeError.processEnded(end) }
                throw RuntimeError.coordinatorFailed(end)
            }
            if StopSignal.isRequested || WallClock.monotonicMs() > deadline {
                children.terminateAll(graceMs: exitGraceMs)
                throw StopSignal.isRequested
                    ? RuntimeError.interrupted : RuntimeError.timeout("the coordinator did not start listening")
            }
            if let endpoint = try? String(contentsOfFile: file, encoding: .utf8) { return endpoint }
            usleep(20_000)
        }
    }

    /// One worker per rank: a local process, or a remote shell running it on its host.
    private func startWorkers(_ workers: Int, endpoint: String, _ children: ChildProcesses) throws {
        do {
            for rank in 0..<workers {
                var arguments =
                    [
                        "worker", "--coordinator", endpoint, "--rank", "\(rank)",
                        "--registration-timeout", "\(registrationTimeoutMs / 1000)",
                    ] + sharedArguments
                if let remote {
                    if kernelStore == .off { arguments += KernelStoreChoice.off.arguments }
                    let placement = remote.placements[rank]
                    if let address = placement.address { arguments += ["--data-bind", "tcp://\(address):*"] }
                    try children.spawn(
                        .worker(rank: rank, host: placement.host), executable: remote.shellExecutable,
                        Array(remote.shell.dropFirst()) + [placement.host, remote.command(arguments)])
                } else {
                    try children.spawn(
                        .worker(rank: rank, host: nil), executable: Self.executablePath(),
                        arguments + kernelStore.arguments + ["--parent-pid", "\(getpid())"])
                }
            }
        } catch {
            children.terminateAll(graceMs: exitGraceMs)
            throw RuntimeError.spawnFailed("\(error)")
        }
    }

    /// How supervising the run ended.
    enum Supervision {
        /// The coordinator ended by itself; `failedWorkers`: workers that had failed on their own by then.
        case coordinatorEnded(failedWorkers: [ProcessEnd])
        /// Ctrl-C (SIGINT or SIGTERM): forwarded to every process.
        case interrupted
        /// Workers ended on their own; the launcher stopped the coordinator, telling it why.
        case stoppedForWorkers([ProcessEnd])
        /// The coordinator was stopped or hung; the launcher ended it.
        case coordinatorStuck(ProcessEnd)
    }

    /// Waits for the coordinator, and ends the run when it will not end by itself:
    /// - Ctrl-C is forwarded to every child;
    /// - a worker process that fails (for a remote one, also a remote shell that cannot reach its host) gives
    ///   the coordinator one second to notice by itself (a worker that fails sends its error first, and the
    ///   coordinator names it); then the coordinator is told which worker ended and how (`reasonFile`) and
    ///   stopped: a worker killed by a signal sends nothing, and nothing waits for a heartbeat time-out on a
    ///   process the launcher has seen end;
    /// - a coordinator stopped (SIGSTOP) for longer than the heartbeat time-out, or one that uses no CPU for
    ///   the heartbeat time-out and the exit grace after every (local) worker has ended, is told so and stopped.
    /// A coordinator that does not exit within the exit grace of being stopped is killed (SIGKILL).
    private func superviseUntilCoordinatorEnds(_ children: ChildProcesses, reasonFile: String) -> Supervision {
        let coordinator = children.coordinator
        var supervision: Supervision?
        var stoppingSince: Int64?
        var workerFailedAt: Int64?
        // The workers seen failing first: the cause. Those that fail later were stopped because of it.
        var firstFailed: [ProcessEnd] = []
        var suspendedSince: Int64?
        var progress: (ticks: Int64, at: Int64)?
        func stopCoordinator(because end: ProcessEnd?, _ outcome: Supervision, now: Int64) {
            if let end, let data = try? JSONEncoder().encode(end) {
                try? data.write(to: URL(fileURLWithPath: reasonFile), options: .atomic)
            }
            if case .interrupted = outcome {
                children.stopAll(SIGTERM)
            } else {
                children.send(SIGTERM, to: coordinator)
            }
            supervision = outcome
            stoppingSince = now
        }
        while coordinator.isRunning {
            let now = WallClock.monotonicMs()
            if let since = stoppingSince {
                if now - since > Int64(exitGraceMs) { children.send(SIGKILL, to: coordinator) }
            } else if StopSignal.isRequested {
                stopCoordinator(because: nil, .interrupted, now: now)
            } else {
                if firstFailed.isEmpty {
                    firstFailed = children.workersFailedOnTheirOwn()
                    if !firstFailed.isEmpty { workerFailedAt = now }
                }
                let state = ChildProcesses.state(of: coordinator.processIdentifier)
                suspendedSince = state.map { "Tt".contains($0.state) } == true ? suspendedSince ?? now : nil
                // Only local workers are the workers themselves: a remote shell may end before its worker does.
                if let state, remote == nil, !children.workers.contains(where: { $0.process.isRunning }) {
                    if progress?.ticks != state.cpuTicks || state.state != "S" { progress = (state.cpuTicks, now) }
                } else {
                    progress = nil
                }
                if let failedAt = workerFailedAt, now - failedAt > 1_000 {
                    stopCoordinator(because: firstFailed.first, .stoppedForWorkers(firstFailed), now: now)
                } else if let since = suspendedSince, now - since > Int64(heartbeatTimeoutMs) {
                    let end = ProcessEnd(
                        role: .coordinator, pid: coordinator.processIdentifier,
                        cause: .stopped(seconds: heartbeatTimeoutMs / 1000))
                    stopCoordinator(because: end, .coordinatorStuck(end), now: now)
                } else if let progress, now - progress.at > Int64(heartbeatTimeoutMs + exitGraceMs) {
                    let end = ProcessEnd(
                        role: .coordinator, pid: coordinator.processIdentifier,
                        cause: .hung(seconds: (heartbeatTimeoutMs + exitGraceMs) / 1000))
                    stopCoordinator(because: end, .coordinatorStuck(end), now: now)
                }
            }
            usleep(20_000)
        }
        coordinator.waitUntilExit()
        return supervision
            ?? .coordinatorEnded(failedWorkers: firstFailed.isEmpty ? children.workersFailedOnTheirOwn() : firstFailed)
    }

    /// The run's results, or the error that names which process ended and how: the first cause, not the
    /// processes the launcher stopped because of it.
    private func outcome(_ children: ChildProcesses, _ supervision: Supervision) throws -> (RunResults, String) {
        let coordinator = children.ending(children.all[0])
        switch supervision {
        case .interrupted: throw RuntimeError.interrupted
        case .coordinatorStuck(let end): throw RuntimeError.processEnded(end)
        case .stoppedForWorkers(let ends): throw RuntimeError.workersEnded(ends, coordinatorStopped: true)
        case .coordinatorEnded(let failedWorkers):
            // Killed by a signal the launcher did not send: the coordinator is the cause.
            if case .signal = coordinator.cause { throw RuntimeError.processEnded(coordinator) }
            if !failedWorkers.isEmpty { throw RuntimeError.workersEnded(failedWorkers, coordinatorStopped: false) }
            if coordinator.failed {
                if StopSignal.isRequested { throw RuntimeError.interrupted }
                throw RuntimeError.coordinatorFailed(coordinator)
            }
        }
        let path = (outputDirectory as NSString).appendingPathComponent("results.json")
        return (try RunResults.load(path: path), path)
    }

    /// Removes run directories (`<tmp>/lolpim-PID-N`) left by launchers that no longer exist, for example one
    /// killed with SIGKILL.
    static func removeStaleRunDirectories() {
        let temporary = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] {
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "lolpim", let pid = Int32(parts[1]), UInt32(parts[2]) != nil,
                pid != getpid(), kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try? FileManager.default.removeItem(atPath: temporary + name)
        }
    }

    /// Options every process of the run takes.
    private var sharedArguments: [String] {
        // An absolute keys path: remote workers resolve a relative one against their login directory.
        (keys.map { ["--keys", URL(fileURLWithPath: $0.directory).standardizedFileURL.path] } ?? [])
            + (logLevel.map { ["--log-level", $0] } ?? [])
    }

    public static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}

/// Reports worker thread failures (inproc runs) and lets the launcher wait for every thread to end.
final class WorkerFailures: @unchecked Sendable {
    private let lock = NSCondition()
    private var finished = 0
    /// Reports a worker thread's failure on stderr, as a worker process does.
    func record(rank: Int, error: Error) {
        lock.lock()
        FileHandle.standardError.write(Data("lolpim: error: worker \(rank): \(error)\n".utf8))
        lock.unlock()
    }

    func done() {
        lock.lock()
        finished += 1
        lock.broadcast()
        lock.unlock()
    }

    func waitAll(count: Int, timeoutMs: Int) {
        let until = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
        lock.lock()
        while finished < count && lock.wait(until: until) {}
        lock.unlock()
    }
}
