/// How a study's runs are carried out (not what they simulate): the transport between each run's processes,
/// the progress output, the registration time-out and the kernel-timing store. `lolpim compare` and
/// `lolpim paper` share them.
public struct RunOptions: Sendable {
    public var transport: TransportKind
    public var progress = true
    /// Registration time-out of every run, milliseconds.
    public var registrationTimeoutMs = 60_000
    public var kernelStore: KernelStoreChoice = .off

    public init(transport: TransportKind = .ipc) { self.transport = transport }

    /// `runner` with these options.
    func configure(_ runner: SweepRunner) -> SweepRunner {
        var runner = runner
        runner.progress = progress
        runner.registrationTimeoutMs = registrationTimeoutMs
        runner.kernelStore = kernelStore
        return runner
    }
}
