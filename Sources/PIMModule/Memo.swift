import Synchronization

/// Values computed once per key and shared by every thread that holds the memo: for pure functions of a few
/// integers that a run asks for thousands of times (a GEMV's cost at one batch, an append kernel). Two threads
/// asking for a new key at once may both compute it; the function is pure, so either value is the same.
final class Memo<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let values = Mutex<[Key: Value]>([:])

    func value(for key: Key, _ compute: () -> Value) -> Value {
        if let known = values.withLock({ $0[key] }) { return known }
        let value = compute()
        values.withLock { $0[key] = value }
        return value
    }
}
