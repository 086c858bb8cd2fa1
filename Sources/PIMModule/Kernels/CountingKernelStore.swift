import Synchronization

/// A store seen through one user (one worker, one `lolpim kernel` run): passes every call on to `base` and
/// counts the lookups it answered (hits) and those it could not (misses; the timer then simulated the kernel).
/// Several users of one shared store (workers as threads of one process) each keep their own counts.
public final class CountingKernelStore: KernelTimingStore {
    public let base: any KernelTimingStore
    private let counts = Mutex<(hits: Int64, misses: Int64)>((0, 0))

    public init(_ base: any KernelTimingStore) { self.base = base }

    public func timing(_ key: KernelKey) -> KernelTiming? {
        let found = base.timing(key)
        counts.withLock { found == nil ? ($0.misses += 1) : ($0.hits += 1) }
        return found
    }

    public func record(_ key: KernelKey, _ timing: KernelTiming) { base.record(key, timing) }

    public var hits: Int64 { counts.withLock { $0.hits } }
    public var misses: Int64 { counts.withLock { $0.misses } }
}
