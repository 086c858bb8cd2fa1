/// The kernels some thread of this process is simulating right now, so that a second thread asking for the
/// same kernel waits for that simulation instead of repeating it (`SharedComputations`, keeping nothing after:
/// each timer remembers its kernels itself, and the store keeps them across runs).
///
/// Workers that run as threads of one process (inproc transport, the paper study) often need the same kernel
/// at the same moment: the members of a tensor-parallel group run identical shapes on their slices, and the
/// stages of a pipeline meet the same attention contexts one after another. Without this, each of them found
/// the kernel missing from the store and simulated it, up to tp times over on two cores. Results cannot
/// change: a waiter takes the timing the simulating thread computed, which is what it would have computed.
///
/// Kernels depend only on smaller kernels (a unit on its block samples, a boundary on its two units), never on
/// themselves, so a thread that waits here while holding a claim of its own cannot close a cycle.
public typealias KernelsInFlight = SharedComputations<KernelKey, KernelTiming>

extension SharedComputations where Key == KernelKey, Value == KernelTiming {
    /// Kernels in flight, none kept once simulated.
    public convenience init() { self.init(keeping: 0) }
}
