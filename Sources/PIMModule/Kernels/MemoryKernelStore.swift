import Synchronization

/// A kernel-timing store in this process's memory: the stages of a single-thread reference run share their
/// kernels through it, and tests use it as a stand-in for the file store.
public final class MemoryKernelStore: KernelTimingStore {
    private let timings = Mutex<[KernelKey: KernelTiming]>([:])

    public init() {}

    public func timing(_ key: KernelKey) -> KernelTiming? { timings.withLock { $0[key] } }

    public func record(_ key: KernelKey, _ timing: KernelTiming) { timings.withLock { $0[key] = timing } }

    /// Kernels recorded.
    public var count: Int { timings.withLock { $0.count } }
}
