import Cluster

/// How a study's runs are carried out (not what they simulate): the transport between each run's processes,
/// the progress output, the registration time-out and the kernel-timing store. `lolpim compare` and
/// `lolpim paper` share them.
public struct RunOptions: Sendable {
    public var transport: TransportKind
    public var progress = true
    /// Registration time-out of every run, milliseconds.
    public var registrationTimeoutMs = 60_000
    /// Heartbeat time-out of every run, milliseconds. A worker sends no heartbeat while it simulates a kernel,
    /// and the head-first static rungs' attention kernels can take tens of seconds each on a busy 2-core
    /// machine; a worker process that dies is still named at once by its launcher.
    public var heartbeatTimeoutMs = 120_000
    public var kernelStore: KernelStoreChoice = .off
    /// Runs at once within each stage of a search (`SweepRunner.jobs`).
    public var jobs = 1

    public init(transport: TransportKind = .ipc) { self.transport = transport }

    /// `runner` with these options.
    func configure(_ runner: SweepRunner) -> SweepRunner {
        var runner = runner
        runner.progress = progress
        runner.registrationTimeoutMs = registrationTimeoutMs
        runner.heartbeatTimeoutMs = heartbeatTimeoutMs
        runner.kernelStore = kernelStore
        runner.jobs = jobs
        return runner
    }
}
